//! The names the route layer gives the routes it was not told a name for.

/// A summary name for `method` and `route`, from the method and the route's words:
/// `GET /accounts/{accountId}` is `get_accounts_accountId`, `GET /` is `get_root`. Characters a
/// metric name cannot hold become `_`.
pub(crate) fn derived(method: &str, route: &str) -> String {
    let mut name = method.to_ascii_lowercase();
    let mut words = 0;
    for word in route.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        if word.is_empty() {
            continue;
        }
        name.push('_');
        name.push_str(word);
        words += 1;
    }
    if words == 0 {
        name.push_str("_root");
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::handler::is_valid_name;

    #[test]
    fn names_come_from_the_method_and_the_words_of_the_route() {
        assert_eq!(
            derived("GET", "/accounts/{accountId}"),
            "get_accounts_accountId"
        );
        assert_eq!(derived("POST", "/graphql"), "post_graphql");
        assert_eq!(derived("GET", "/"), "get_root");
        assert_eq!(derived("DELETE", "/a-b/{*rest}"), "delete_a_b_rest");
        for route in ["/", "/x.y/é/{id}", "/{*all}", "//--//"] {
            assert!(is_valid_name(&derived("GET", route)), "{route}");
        }
    }
}
