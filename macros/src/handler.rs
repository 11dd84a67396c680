//! The annotated function: parsed piece by piece, and classified into the shapes the attribute
//! can instrument.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::parse::{Parse, ParseStream, Parser};
use syn::{
    braced, token, Attribute, Block, Expr, GenericArgument, Path, PathArguments, ReturnType,
    Signature, Stmt, Type, TypeParamBound, Visibility,
};

use crate::errors::Errors;

/// A function with a body. The body is kept as raw tokens when it does not parse, so that an
/// `async fn` with a syntax error still expands and the compiler reports that error itself.
pub(crate) struct Handler {
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) sig: Signature,
    pub(crate) brace: token::Brace,
    pub(crate) inner_attrs: Vec<Attribute>,
    pub(crate) body: Body,
}

/// The statements of the function body.
pub(crate) enum Body {
    Parsed(Vec<Stmt>),
    Raw(TokenStream),
}

impl ToTokens for Body {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        match self {
            Body::Parsed(stmts) => tokens.extend(stmts.iter().map(ToTokens::to_token_stream)),
            Body::Raw(raw) => raw.to_tokens(tokens),
        }
    }
}

impl Parse for Handler {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        let sig = input.parse()?;
        let content;
        let brace = braced!(content in input);
        let inner_attrs = content.call(Attribute::parse_inner)?;
        let raw: TokenStream = content.parse()?;
        let body = match Block::parse_within.parse2(raw.clone()) {
            Ok(stmts) => Body::Parsed(stmts),
            Err(_) => Body::Raw(raw),
        };
        Ok(Handler {
            attrs,
            vis,
            sig,
            brace,
            inner_attrs,
            body,
        })
    }
}

/// How the handler's work is wrapped.
pub(crate) enum Shape {
    /// `async fn`: the whole body becomes the observed future.
    AsyncFn,
    /// A non-async `fn` whose last statement is the future to observe: `async { .. }` or
    /// `Box::pin(async { .. })`. The tail is found again, mutably, by [`tail_future_mut`].
    FutureTail,
    /// A non-async `fn` whose body does not parse: emitted unchanged so the compiler reports why.
    Unparsed,
}

impl Handler {
    /// Classifies the function, or explains why it cannot be instrumented.
    pub(crate) fn shape(&mut self) -> syn::Result<Shape> {
        if let Some(constness) = &self.sig.constness {
            // Alone: a `const fn` cannot hold the `async` block any other advice would ask for.
            return Err(syn::Error::new(
                constness.span,
                "`#[instrumented]` cannot be used on a `const fn`: a handler is timed while it \
                 runs; remove `const`",
            ));
        }
        let mut errors = Errors::default();
        let shape = if self.sig.asyncness.is_some() {
            if let ReturnType::Default = self.sig.output {
                errors.push(syn::Error::new(
                    self.sig.paren_token.span.close(),
                    "an instrumented handler must return `Response<B>` or `Result<Response<B>, E>`; \
                     this one returns `()`: declare its return type, e.g. `-> Response<Full<Bytes>>`",
                ));
            }
            Shape::AsyncFn
        } else {
            let has_tail = match &mut self.body {
                Body::Raw(_) => None,
                Body::Parsed(stmts) => Some(tail_future_mut(stmts).is_some()),
            };
            match has_tail {
                None => Shape::Unparsed,
                Some(true) => Shape::FutureTail,
                Some(false) => {
                    errors.push(self.not_a_future());
                    Shape::FutureTail
                }
            }
        };
        errors.finish(shape)
    }

    /// The error for a non-async `fn` without a future tail to observe.
    fn not_a_future(&self) -> syn::Error {
        let returns_future = match &self.sig.output {
            ReturnType::Type(_, ty) => future_bound(ty).is_some(),
            ReturnType::Default => false,
        };
        if returns_future {
            let tail = match &self.body {
                Body::Parsed(stmts) => stmts.last(),
                Body::Raw(_) => None,
            };
            let message =
                "`#[instrumented]` observes the future a non-async handler returns, so the body \
                 must end in an `async move { .. }` block (or `Box::pin(async move { .. })`); \
                 end the body with one, or make the handler an `async fn`";
            match tail {
                Some(Stmt::Expr(tail, None)) => syn::Error::new_spanned(tail, message),
                _ => syn::Error::new(self.brace.span.close(), message),
            }
        } else {
            let message = "`#[instrumented]` needs a handler that returns a future: make it an \
                           `async fn`, or return `impl Future<Output = Response<B>>` from an \
                           `async move { .. }` block";
            match &self.sig.output {
                ReturnType::Type(_, ty) => syn::Error::new_spanned(ty, message),
                ReturnType::Default => syn::Error::new(self.sig.paren_token.span.close(), message),
            }
        }
    }

    /// The declared type of the handler's result: the return type of an `async fn`, or `Output`
    /// of the returned `Future`.
    pub(crate) fn declared_output(&self) -> Option<&Type> {
        let ReturnType::Type(_, ty) = &self.sig.output else {
            return None;
        };
        if self.sig.asyncness.is_some() {
            Some(ty)
        } else {
            future_output(future_bound(ty)?)
        }
    }

    /// [`Handler::declared_output`] when it can be written in a `let`: `impl Trait` cannot, and
    /// the compiler infers such types unaided.
    pub(crate) fn output_type(&self) -> Option<&Type> {
        self.declared_output().filter(|output| {
            !types_within(output)
                .iter()
                .any(|ty| matches!(ty, Type::ImplTrait(_)))
        })
    }
}

/// The future a non-async body returns: the tail `async { .. }` or the argument of a tail
/// `Box::pin(async { .. })`.
pub(crate) fn tail_future_mut(stmts: &mut [Stmt]) -> Option<&mut Expr> {
    let Some(Stmt::Expr(tail, None)) = stmts.last_mut() else {
        return None;
    };
    match tail {
        Expr::Async(_) => Some(tail),
        Expr::Call(call) if is_box_pin(&call.func) && call.args.len() == 1 => call
            .args
            .first_mut()
            .filter(|arg| matches!(arg, Expr::Async(_))),
        _ => None,
    }
}

/// `Box::pin`, however qualified (`std::boxed::Box::pin`, `::alloc::boxed::Box::pin`).
fn is_box_pin(func: &Expr) -> bool {
    let Expr::Path(path) = func else {
        return false;
    };
    let mut names = path.path.segments.iter().rev().map(|s| s.ident.to_string());
    names.next().as_deref() == Some("pin") && names.next().as_deref() == Some("Box")
}

/// The path segment naming a future in a return type: `impl Future<..>`, `Pin<Box<dyn Future<..>>>`,
/// or a type named like one (`BoxFuture<'a, T>`).
fn future_bound(ty: &Type) -> Option<&syn::PathSegment> {
    types_within(ty)
        .into_iter()
        .flat_map(paths_of)
        .flat_map(|path| path.segments.iter())
        .find(|segment| segment.ident.to_string().ends_with("Future"))
}

/// `T` in `Future<Output = T>`.
fn future_output(segment: &syn::PathSegment) -> Option<&Type> {
    let PathArguments::AngleBracketed(args) = &segment.arguments else {
        return None;
    };
    args.args.iter().find_map(|arg| match arg {
        GenericArgument::AssocType(assoc) if assoc.ident == "Output" => Some(&assoc.ty),
        _ => None,
    })
}

/// The paths a type is made of: its own path, or the traits it is bounded by.
fn paths_of(ty: &Type) -> Vec<&Path> {
    match ty {
        Type::Path(path) => vec![&path.path],
        Type::ImplTrait(imp) => trait_paths(imp.bounds.iter()),
        Type::TraitObject(dyn_) => trait_paths(dyn_.bounds.iter()),
        _ => Vec::new(),
    }
}

fn trait_paths<'a>(bounds: impl Iterator<Item = &'a TypeParamBound>) -> Vec<&'a Path> {
    bounds
        .filter_map(|bound| match bound {
            TypeParamBound::Trait(bound) => Some(&bound.path),
            _ => None,
        })
        .collect()
}

/// `ty` and every type nested in it, outermost first.
fn types_within(ty: &Type) -> Vec<&Type> {
    let mut found = vec![ty];
    let mut next = 0;
    while let Some(&ty) = found.get(next) {
        next += 1;
        match ty {
            Type::Array(inner) => found.push(&inner.elem),
            Type::Group(inner) => found.push(&inner.elem),
            Type::Paren(inner) => found.push(&inner.elem),
            Type::Ptr(inner) => found.push(&inner.elem),
            Type::Reference(inner) => found.push(&inner.elem),
            Type::Slice(inner) => found.push(&inner.elem),
            Type::Tuple(tuple) => found.extend(tuple.elems.iter()),
            Type::Path(path) => {
                if let Some(qself) = &path.qself {
                    found.push(&qself.ty);
                }
                found.extend(generic_types(&path.path));
            }
            Type::ImplTrait(_) | Type::TraitObject(_) => {
                let nested: Vec<&Type> = paths_of(ty).into_iter().flat_map(generic_types).collect();
                found.extend(nested);
            }
            _ => {}
        }
    }
    found
}

/// The types among a path's generic arguments, e.g. `A` and `B` in `Result<A, B>`.
fn generic_types(path: &Path) -> Vec<&Type> {
    let mut types = Vec::new();
    for segment in &path.segments {
        match &segment.arguments {
            PathArguments::AngleBracketed(args) => {
                types.extend(args.args.iter().filter_map(|arg| match arg {
                    GenericArgument::Type(ty) => Some(ty),
                    GenericArgument::AssocType(assoc) => Some(&assoc.ty),
                    _ => None,
                }));
            }
            PathArguments::Parenthesized(args) => {
                types.extend(args.inputs.iter());
                if let ReturnType::Type(_, ty) = &args.output {
                    types.push(ty);
                }
            }
            PathArguments::None => {}
        }
    }
    types
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handler(text: &str) -> syn::Result<Handler> {
        syn::parse_str(text)
    }

    fn shape(text: &str) -> Result<&'static str, String> {
        let mut handler = handler(text).map_err(|e| e.to_string())?;
        match handler.shape() {
            Ok(Shape::AsyncFn) => Ok("async"),
            Ok(Shape::FutureTail) => Ok("tail"),
            Ok(Shape::Unparsed) => Ok("unparsed"),
            Err(error) => Err(error.to_string()),
        }
    }

    fn output(text: &str) -> Option<String> {
        let handler = handler(text).ok()?;
        handler
            .output_type()
            .map(|ty| ty.to_token_stream().to_string())
    }

    #[test]
    fn classifies_supported_shapes() {
        assert_eq!(shape("async fn a() -> R { r }"), Ok("async"));
        assert_eq!(
            shape("fn a() -> impl Future<Output = R> { let x = 1; async move { r } }"),
            Ok("tail")
        );
        assert_eq!(
            shape("fn a(&self) -> Pin<Box<dyn Future<Output = R> + Send>> { Box::pin(async move { r }) }"),
            Ok("tail")
        );
        assert_eq!(
            shape("fn a() -> impl Future<Output = R> { let = 1; async move { r } }"),
            Ok("unparsed")
        );
    }

    #[test]
    fn keeps_an_unparsable_async_body() {
        let parsed = handler("async fn a() -> R { let = ; }");
        assert!(matches!(parsed.map(|h| h.body), Ok(Body::Raw(_))));
    }

    #[test]
    fn rejects_const_fn() {
        let error = shape("const fn a() -> impl Future<Output = R> { async { r } }");
        assert!(error.is_err_and(|e| e.contains("cannot be used on a `const fn`")));
    }

    #[test]
    fn rejects_async_fn_without_return_type() {
        assert!(shape("async fn a() {}").is_err_and(|e| e.contains("this one returns `()`")));
    }

    #[test]
    fn rejects_future_without_async_tail() {
        let error = shape("fn a() -> impl Future<Output = R> { ready(r) }");
        assert!(error.is_err_and(|e| e.contains("must end in an `async move { .. }` block")));
    }

    #[test]
    fn rejects_non_future_return() {
        let error = shape("fn a() -> Response<Full<Bytes>> { r }");
        assert!(error.is_err_and(|e| e.contains("needs a handler that returns a future")));
        assert!(shape("fn a() { }").is_err_and(|e| e.contains("returns a future")));
    }

    #[test]
    fn finds_the_declared_output() {
        assert_eq!(
            output("async fn a() -> Response<B> {}").as_deref(),
            Some("Response < B >")
        );
        assert_eq!(
            output("fn a() -> impl Future<Output = Result<R, E>> + Send {}").as_deref(),
            Some("Result < R , E >")
        );
        assert_eq!(
            output("fn a() -> Pin<Box<dyn Future<Output = R> + Send + 'static>> {}").as_deref(),
            Some("R")
        );
        assert_eq!(output("fn a() -> BoxFuture<'static, R> {}"), None);
        assert_eq!(output("async fn a() {}"), None);
    }

    #[test]
    fn skips_outputs_containing_impl_trait() {
        assert_eq!(output("async fn a() -> Response<impl Body> {}"), None);
        assert_eq!(
            output("fn a() -> impl Future<Output = Response<impl Body>> {}"),
            None
        );
        assert_eq!(output("async fn a() -> (R, [&impl Body; 1]) {}"), None);
    }
}
