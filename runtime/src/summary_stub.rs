//! Temporary stand-in (exact, locked) until the windowed summary lands.
#![allow(missing_docs, clippy::all)]
use std::sync::Mutex;
use std::time::Duration;
use crate::Error;

#[derive(Clone, Debug, PartialEq)]
pub struct SummaryOptions { max_age: Duration, age_buckets: u32, quantiles: Vec<f64> }
impl Default for SummaryOptions { fn default() -> Self { SummaryOptions { max_age: Duration::from_secs(600), age_buckets: 5, quantiles: vec![0.5, 0.9, 0.99] } } }
impl SummaryOptions {
    pub fn quantiles(&self) -> &[f64] { &self.quantiles }
    pub fn with_window(mut self, max_age: Duration, age_buckets: u32) -> Result<Self, Error> { if age_buckets == 0 { return Err(Error::InvalidConfig("age buckets".into())); } self.max_age = max_age; self.age_buckets = age_buckets; Ok(self) }
    pub fn with_quantiles(mut self, q: Vec<f64>) -> Result<Self, Error> { self.quantiles = q; Ok(self) }
}
#[derive(Debug)]
pub struct Summary { values: Mutex<Vec<f64>>, q: Vec<f64> }
pub struct Snapshot { pub quantiles: Vec<f64>, pub sum: f64, pub count: u64 }
impl Summary {
    pub fn new(o: &SummaryOptions) -> Summary { Summary { values: Mutex::new(Vec::new()), q: o.quantiles.clone() } }
    pub fn observe(&self, v: f64, _now: u64) { self.values.lock().unwrap_or_else(|e| e.into_inner()).push(v) }
    pub fn snapshot(&self, _now: u64) -> Snapshot {
        let mut v = self.values.lock().unwrap_or_else(|e| e.into_inner()).clone();
        v.sort_by(|a, b| a.total_cmp(b));
        let quantiles = self.q.iter().map(|q| if v.is_empty() { f64::NAN } else { v[((q * v.len() as f64).ceil() as usize).max(1) - 1] }).collect();
        Snapshot { quantiles, sum: v.iter().sum(), count: v.len() as u64 }
    }
}
