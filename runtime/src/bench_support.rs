//! Synthetic handler sets for the benchmarks: the real render path over any number of handlers,
//! which a program cannot otherwise vary (its handlers are fixed when it is linked).

use crate::exposition::{self, ScrapeStats};
use crate::handler::{HandlerSite, SiteInfo};
use crate::registry::Catalog;

/// `count` handlers named `Handler0`, `Handler1`, ... in namespace `bench`.
pub struct SyntheticHandlers {
    sites: Vec<&'static HandlerSite>,
    catalog: Catalog,
}

impl SyntheticHandlers {
    /// Creates the handlers. Their descriptions are leaked, as statics would be.
    pub fn new(count: usize) -> SyntheticHandlers {
        let sites: Vec<&'static HandlerSite> = (0..count)
            .map(|index| {
                let name: &'static str = Box::leak(format!("Handler{index}").into_boxed_str());
                let path: &'static str =
                    Box::leak(format!("/resource{index}/{{id}}").into_boxed_str());
                &*Box::leak(Box::new(HandlerSite::new(SiteInfo {
                    name,
                    method: "GET",
                    path,
                    namespace: Some("bench"),
                    histogram: None,
                    module_path: "bench",
                    crate_version: Some("1.0.0"),
                    file: "bench.rs",
                    line: 1,
                })))
            })
            .collect();
        let catalog = Catalog::build(sites.iter().copied(), None);
        SyntheticHandlers { sites, catalog }
    }

    /// Records a request of `seconds` with a `200` of `size` bytes on every handler.
    pub fn record_all(&self, seconds: f64, size: u64) {
        let now = crate::clock::nanos_now();
        for site in &self.sites {
            site.metrics().record(
                std::time::Duration::from_secs_f64(seconds),
                now,
                crate::outcome::Classification {
                    code: crate::outcome::Code::Status(200),
                    size: Some(size),
                },
            );
        }
    }

    /// The exposition of these handlers, as `/metrics` writes it.
    pub fn render(&self) -> String {
        let stats = ScrapeStats {
            requests: Vec::new(),
            in_flight: 0,
        };
        exposition::render(&self.catalog, &[], &stats).unwrap_or_default()
    }

    /// The exposition gzipped, as `/metrics` sends it to a scraper that accepts gzip.
    pub fn render_gzip(&self) -> Vec<u8> {
        crate::exporter::gzipped(self.render().as_bytes()).unwrap_or_default()
    }

    /// Bytes the first handler's metrics occupy.
    pub fn heap_bytes_per_handler(&self) -> usize {
        self.sites
            .first()
            .map_or(0, |site| site.metrics().heap_bytes())
    }
}
