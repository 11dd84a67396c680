//! Handlers by route and method: how a layer finds the handler of a request from its route.

use std::collections::HashMap;

use http::Method;

use crate::record::handler::Handler;

/// The methods a route can be measured under, in table order; any other counts as no route, so
/// that made-up methods cannot add series.
const METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE",
];

/// `method` as the table knows it, if it is one of the standard ones.
pub(crate) fn known_method(method: &Method) -> Option<&'static str> {
    METHODS.into_iter().find(|known| *known == method.as_str())
}

/// The handler of each route and method.
#[derive(Debug, Default)]
pub(crate) struct RouteTable {
    routes: HashMap<Box<str>, [Option<&'static Handler>; METHODS.len()]>,
}

fn index(method: &str) -> Option<usize> {
    METHODS.iter().position(|known| *known == method)
}

impl RouteTable {
    /// The handler of `route` under `method`.
    #[inline]
    pub(crate) fn get(&self, method: &str, route: &str) -> Option<&'static Handler> {
        let handlers = self.routes.get(route)?;
        handlers[index(method)?]
    }

    /// Sets the handler of `route` under `method`; a method the table does not know is ignored.
    pub(crate) fn insert(&mut self, method: &str, route: &str, handler: &'static Handler) {
        if let Some(index) = index(method) {
            self.routes
                .entry(route.into())
                .or_insert([None; METHODS.len()])[index] = Some(handler);
        }
    }

    /// How many route and method pairs have a handler.
    pub(crate) fn len(&self) -> usize {
        self.routes.values().flatten().flatten().count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::handler_info::HandlerInfo;

    #[test]
    fn handlers_are_found_by_route_and_method() {
        const INFO: HandlerInfo = HandlerInfo::plain("Item", "GET", "/items/{id}");
        static HANDLER: Handler = Handler::new(INFO);
        let mut table = RouteTable::default();
        table.insert("GET", "/items/{id}", &HANDLER);
        table.insert("BREW", "/items/{id}", &HANDLER);
        assert!(table.get("GET", "/items/{id}").is_some());
        assert!(table.get("POST", "/items/{id}").is_none());
        assert!(table.get("GET", "/items").is_none());
        assert!(table.get("BREW", "/items/{id}").is_none());
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn made_up_methods_are_not_known() {
        assert_eq!(known_method(&Method::PATCH), Some("PATCH"));
        let made_up = Method::from_bytes(b"BREW").ok();
        assert_eq!(made_up.as_ref().and_then(known_method), None);
    }
}
