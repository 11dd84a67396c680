//! Code generation: the handler's own attributes and signature around a body that registers the
//! handler at link time and hands its future to the runtime.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{token, Expr, ExprAsync, Type};

use crate::args::{Args, Histogram};
use crate::errors::Errors;
use crate::handler::{tail_future_mut, Body, Handler, Shape};

/// Expands `#[instrumented(attr)] item`. On any error the item is emitted unchanged beside every
/// error, so the caller sees the attribute's mistakes and nothing that follows from them.
pub(crate) fn instrumented(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let args = errors.record(syn::parse2::<Args>(attr));
    let handler = errors.record(syn::parse2::<Handler>(item.clone()).map_err(|error| {
        syn::Error::new(
            error.span(),
            format!(
                "`#[instrumented]` applies to a handler function with a body: an `async fn`, or a \
                 `fn` returning `impl Future` from an `async` block ({error})"
            ),
        )
    }));
    let shaped = handler.and_then(|mut handler| {
        let shape = errors.record(handler.shape())?;
        Some((handler, shape))
    });
    match (args, shaped, errors.into_error()) {
        (Some(args), Some((handler, shape)), None) => match shape {
            Shape::AsyncFn => async_fn(&args, handler),
            Shape::FutureTail => future_tail(&args, handler),
            // The compiler reports the body's syntax error itself.
            Shape::Unparsed => item,
        },
        (_, _, error) => {
            let error = error.map(syn::Error::into_compile_error);
            quote!(#item #error)
        }
    }
}

/// `async fn`: the whole body runs inside the observed future.
fn async_fn(args: &Args, handler: Handler) -> TokenStream {
    let private = private_path(args);
    let edge = handler.output_type().map(fake_return_edge);
    let output_span = output_span(&handler);
    let statics = handler_statics(args, &private);
    let Handler {
        attrs,
        vis,
        sig,
        brace,
        inner_attrs,
        body,
    } = handler;
    let observe = observe_fn(args, output_span);
    let classifier = classifier(&private, output_span);
    // The future and its `.await` are spanned at the return type too, so that errors about the
    // handler's output as a whole (not a response, an empty body) point there, once.
    let observed = quote_spanned!(output_span=>
        #observe(&__ROUTEMETER_HANDLER, async move { #edge #body }, #classifier).await
    );
    let body = quote! {
        #(#inner_attrs)*
        #statics
        #observed
    };
    let body = braced(brace, body);
    quote!(#(#attrs)* #vis #sig #body)
}

/// `fn -> impl Future`: only the returned `async` block is observed; statements before it run
/// when the handler is called, as they did before.
fn future_tail(args: &Args, handler: Handler) -> TokenStream {
    let private = private_path(args);
    let edge = handler.output_type().map(fake_return_edge);
    let observe = observe_fn(args, output_span(&handler));
    let classifier = classifier(&private, output_span(&handler));
    let statics = handler_statics(args, &private);
    let Handler {
        attrs,
        vis,
        sig,
        brace,
        inner_attrs,
        mut body,
    } = handler;
    if let Body::Parsed(stmts) = &mut body {
        if let Some(tail) = tail_future_mut(stmts) {
            let original = std::mem::replace(tail, Expr::Verbatim(TokenStream::new()));
            *tail = match original {
                Expr::Async(future) => Expr::Verbatim(observed_async_block(
                    &observe,
                    edge.as_ref(),
                    future,
                    &classifier,
                )),
                other => other,
            };
        }
    }
    let body = quote! {
        #(#inner_attrs)*
        #statics
        #body
    };
    let body = braced(brace, body);
    quote!(#(#attrs)* #vis #sig #body)
}

/// `observe(&HANDLER, async move { edge; stmts }, classifier)`, keeping the user's `async` block
/// as it was.
fn observed_async_block(
    observe: &TokenStream,
    edge: Option<&TokenStream>,
    future: ExprAsync,
    classifier: &TokenStream,
) -> TokenStream {
    let ExprAsync {
        attrs,
        async_token,
        capture,
        block,
    } = future;
    let stmts = block.stmts;
    let block = braced(block.brace_token, quote!(#edge #(#stmts)*));
    quote!(#observe(&__ROUTEMETER_HANDLER, #(#attrs)* #async_token #capture #block, #classifier))
}

/// The closure that reads the handler's output. It is written out here, where the output's type
/// is concrete, so that method lookup can pick how to read it: as a response, as an axum
/// `IntoResponse` (feature `axum`), or not at all, which `observe` reports as an error.
fn classifier(private: &TokenStream, output_span: Span) -> TokenStream {
    quote_spanned! {output_span=>
        |__routemeter_output| {
            #[allow(unused_imports)]
            use #private::{ByIntoResponse as _, ByOutcome as _, Unreadable as _};
            (&&#private::Probe(__routemeter_output)).classify()
        }
    }
}

/// The `static` describing the handler, and its entry in the runtime's link-time list.
fn handler_statics(args: &Args, private: &TokenStream) -> TokenStream {
    let name = &args.name;
    let method = args.route.method;
    let path = &args.route.path;
    let namespace = option(args.namespace.as_ref());
    let histogram = option(
        args.histogram
            .map(|histogram| {
                let kind = match histogram {
                    Histogram::Off => quote!(Off),
                    Histogram::Classic => quote!(Classic),
                    Histogram::Native => quote!(Native),
                };
                quote!(#private::HistogramKind::#kind)
            })
            .as_ref(),
    );
    let stream = args.stream;
    let time_to_headers = option(args.time_to_headers.as_ref());
    let request_size = option(args.request_size.as_ref());
    quote! {
        static __ROUTEMETER_HANDLER: #private::Handler =
            #private::Handler::new(#private::HandlerInfo {
                name: #name,
                method: #method,
                path: #path,
                namespace: #namespace,
                histogram: #histogram,
                stream: #stream,
                time_to_headers: #time_to_headers,
                request_size: #request_size,
                module_path: ::core::module_path!(),
                crate_version: ::core::option_env!("CARGO_PKG_VERSION"),
                file: ::core::file!(),
                line: ::core::line!(),
            });
        #[#private::linkme::distributed_slice(#private::HANDLERS)]
        #[linkme(crate = #private::linkme)]
        static __ROUTEMETER_ENTRY: &'static #private::Handler = &__ROUTEMETER_HANDLER;
    }
}

/// An unreachable `return` of the declared type as the future's first statement. It fixes the
/// future's output type before the body is checked, so `?` converts into the declared error type
/// and a mismatch is reported against the user's own return type and lines.
fn fake_return_edge(output: &Type) -> TokenStream {
    quote_spanned! {output.span()=>
        #[allow(
            unknown_lints,
            unreachable_code,
            clippy::diverging_sub_expression,
            clippy::empty_loop,
            clippy::let_unit_value,
            clippy::let_with_type_underscore,
            clippy::needless_return,
        )]
        if false {
            let __routemeter_ret: #output = loop {};
            return __routemeter_ret;
        }
    }
}

/// The path of `observe`, spanned at the declared output type: a handler whose output is not a
/// response is then reported at its return type, with the runtime's `Outcome` message. A path
/// given with `crate = "..."` keeps the span of its literal, where resolution errors belong.
fn observe_fn(args: &Args, output_span: Span) -> TokenStream {
    match &args.krate {
        Some(krate) => quote_spanned!(output_span=> #krate::__private::observe),
        None => quote_spanned!(output_span=> ::routemeter::__private::observe),
    }
}

fn output_span(handler: &Handler) -> Span {
    handler
        .declared_output()
        .map_or_else(Span::call_site, Spanned::span)
}

/// `<crate>::__private`, where `<crate>` is `::routemeter` unless `crate = "..."` says otherwise.
fn private_path(args: &Args) -> TokenStream {
    match &args.krate {
        Some(krate) => quote!(#krate::__private),
        None => quote!(::routemeter::__private),
    }
}

fn option<T: ToTokens>(value: Option<&T>) -> TokenStream {
    match value {
        Some(value) => quote!(::core::option::Option::Some(#value)),
        None => quote!(::core::option::Option::None),
    }
}

/// `{ content }` with the braces of the user's block, so errors about the block point at it.
fn braced(brace: token::Brace, content: TokenStream) -> TokenStream {
    let mut tokens = TokenStream::new();
    brace.surround(&mut tokens, |tokens| tokens.extend(content));
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The expansion, printed as Rust source.
    fn expand(attr: &str, item: &str) -> String {
        match (attr.parse::<TokenStream>(), item.parse::<TokenStream>()) {
            (Ok(attr), Ok(item)) => instrumented(attr, item).to_string(),
            _ => "the test input does not tokenize".to_owned(),
        }
    }

    /// `text` without whitespace, so expectations do not depend on how tokens are printed.
    fn squash(text: &str) -> String {
        text.split_whitespace().collect()
    }

    const ARGS: &str = r#"name = "GetAccount", route = "GET /accounts/<accountId>""#;

    #[test]
    fn async_fn_body_becomes_the_observed_future() {
        let out = squash(&expand(
            ARGS,
            "/// Docs.\n#[allow(unused)] pub(crate) async fn get(req: Req) -> Result<Resp, E> { let x = req?; Ok(x) }",
        ));
        assert!(
            out.starts_with(&squash(
                "#[doc = \" Docs.\"] #[allow(unused)] pub(crate) async fn get(req: Req) -> Result<Resp, E> {"
            )),
            "{out}"
        );
        assert!(out.contains(&squash(
            "::routemeter::__private::observe(&__ROUTEMETER_HANDLER, async move {"
        )));
        assert!(out.contains(&squash("let __routemeter_ret: Result<Resp, E> = loop {};")));
        assert!(out.contains(&squash("let x = req?; Ok(x) }, |__routemeter_output|")));
        assert!(out.contains(&squash(
            "(&&::routemeter::__private::Probe(__routemeter_output)).classify() }).await }"
        )));
        assert!(out.contains(&squash(
            r#"name: "GetAccount", method: "GET", path: "/accounts/{accountId}","#
        )));
        assert!(out.contains(&squash(
            "namespace: ::core::option::Option::None, histogram: ::core::option::Option::None,"
        )));
    }

    #[test]
    fn expansion_is_a_function() {
        let out = expand(ARGS, "async fn get(&self) -> R { r }");
        assert!(syn::parse_str::<syn::ItemFn>(&out).is_ok(), "{out}");
        let out = expand(
            ARGS,
            "fn get() -> impl Future<Output = R> { async move { r } }",
        );
        assert!(syn::parse_str::<syn::ItemFn>(&out).is_ok(), "{out}");
    }

    #[test]
    fn future_tail_is_wrapped_in_place() {
        let out = squash(&expand(
            ARGS,
            "fn get(s: S) -> impl Future<Output = R> + Send { let s = s.clone(); async move { s.r() } }",
        ));
        assert!(out.contains(&squash(
            "let s = s.clone(); ::routemeter::__private::observe(&__ROUTEMETER_HANDLER, async move {"
        )));
        assert!(out.contains(&squash("let __routemeter_ret: R = loop {};")));
        assert!(out.contains(&squash("s.r() }, |__routemeter_output|")));
        assert!(out.ends_with(&squash("classify() }) }")));
    }

    #[test]
    fn boxed_tail_is_wrapped_inside_the_box() {
        let out = squash(&expand(
            ARGS,
            "fn get(&self) -> Pin<Box<dyn Future<Output = R> + Send + '_>> { Box::pin(async move { r }) }",
        ));
        assert!(out.contains(&squash(
            "Box::pin(::routemeter::__private::observe(&__ROUTEMETER_HANDLER, async move {"
        )));
    }

    #[test]
    fn options_and_crate_override_reach_the_expansion() {
        let out = squash(&expand(
            r#"name = "A", route = "GET /", namespace = "svc", histogram = true, crate = "renamed::inner""#,
            "async fn get() -> R { r }",
        ));
        assert!(out.contains(&squash(
            r#"namespace: ::core::option::Option::Some("svc"),
               histogram: ::core::option::Option::Some(renamed::inner::__private::HistogramKind::Classic),"#
        )));
        assert!(out.contains(&squash("renamed::inner::__private::observe(")));
        assert!(out.contains(&squash(
            "#[linkme(crate = renamed::inner::__private::linkme)]"
        )));
        assert!(!out.contains("::routemeter::"));
    }

    #[test]
    fn impl_trait_output_is_not_annotated() {
        let out = expand(ARGS, "async fn get() -> Response<impl Body> { r }");
        assert!(!out.contains("__routemeter_ret"));
    }

    #[test]
    fn unparsable_async_body_is_kept_raw() {
        let out = squash(&expand(ARGS, "async fn get() -> R { let = ; }"));
        assert!(out.contains(&squash("async move { #[allow(")));
        assert!(out.contains(&squash("let = ; }, |__routemeter_output|")));
    }

    #[test]
    fn error_keeps_the_function_and_reports_everything() {
        let item = "async fn get() -> R { r }";
        let out = expand(r#"name = "a-b", route = "get /""#, item);
        assert!(out.starts_with(
            &item
                .parse::<TokenStream>()
                .map(|t| t.to_string())
                .unwrap_or_default()
        ));
        assert_eq!(out.matches("compile_error").count(), 2, "{out}");
        assert!(!out.contains("__ROUTEMETER_HANDLER"));
    }

    #[test]
    fn argument_and_shape_errors_are_combined() {
        let out = expand("", "const fn get() -> u32 { 1 }");
        assert_eq!(out.matches("compile_error").count(), 2, "{out}");
    }

    #[test]
    fn rejects_items_that_are_not_functions() {
        let out = expand(ARGS, "struct Get;");
        assert!(
            out.contains("applies to a handler function with a body"),
            "{out}"
        );
    }
}
