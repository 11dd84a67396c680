//! The `#[instrumented]` attribute of routemeter.
//!
//! This crate is an implementation detail: depend on `routemeter`, which re-exports the attribute as
//! `routemeter::instrumented` and documents it there. The expansion only names `::core` and
//! `routemeter::__private`, so the two crates are versioned together.

mod args;
mod errors;
mod expand;
mod handler;
mod route;

use proc_macro::TokenStream;

/// Turns a hyper handler into a monitored route; see `routemeter::instrumented` for the documentation.
#[proc_macro_attribute]
pub fn instrumented(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::instrumented(args.into(), item.into()).into()
}
