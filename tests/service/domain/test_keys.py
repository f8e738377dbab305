from service.domain import keys


def test_a_github_node_key_gives_back_its_node_id() -> None:
    key = keys.github_node("I_kwDOAbc123")
    assert key == "github:node/I_kwDOAbc123"
    assert keys.github_node_id(key) == "I_kwDOAbc123"


def test_other_keys_carry_no_node_id() -> None:
    for key in ("github:acme/portal#3", "jira:PORT-1", "github:project/PVT_1/iteration/a1", "gitlab:node/x"):
        assert keys.github_node_id(key) is None
