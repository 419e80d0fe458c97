//! Code generation. Every path the generated code uses goes through `#krate::__private`, so the
//! expansion depends on neither the prelude nor the user's imports.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{parse_quote, LitStr, Path, ReturnType, Type};

use crate::args::Args;
use crate::catalogue::{self, Shape};
use crate::errors::Errors;
use crate::handler::HandlerFn;

pub(crate) fn on_event(args: TokenStream, item: TokenStream) -> TokenStream {
    let function: HandlerFn = match syn::parse2(item.clone()) {
        Ok(function) => function,
        Err(_) => {
            let error = syn::Error::new_spanned(
                &item,
                "`#[on_event]` can only be applied to an `async fn`",
            );
            return with_errors(item, error.into_compile_error());
        }
    };
    let mut errors = Errors::default();
    let mut args = match syn::parse2::<Args>(args) {
        Ok(args) => Some(args),
        Err(error) => {
            errors.push(error);
            None
        }
    };
    if let Some(args) = &mut args {
        args.report(&mut errors);
        if let Some(event) = &args.event {
            check_event(event, args.unchecked, &mut errors);
        }
    }
    let types = function.check(&mut errors);
    match (errors.into_compile_errors(), args) {
        (None, Some(Args { event: Some(event), krate, .. })) => {
            let krate = krate.unwrap_or_else(|| parse_quote!(::webhook_core));
            let registration = registration(&function, &types, &event, &krate);
            quote! {
                #function
                #registration
            }
        }
        // The function is emitted as written beside the errors, so the rest of the crate (and
        // the IDE) still sees it and no follow-up "cannot find function" errors appear.
        (errors, _) => with_errors(function.into_token_stream(), errors.unwrap_or_default()),
    }
}

fn with_errors(item: TokenStream, errors: TokenStream) -> TokenStream {
    quote! {
        #item
        #errors
    }
}

fn check_event(event: &LitStr, unchecked: bool, errors: &mut Errors) {
    let name = event.value();
    if name.is_empty() {
        errors.spanned(event, "event type cannot be empty, expected such as `\"payment_intent.succeeded\"`");
        return;
    }
    let Some(shape) = catalogue::shape(&name) else {
        errors.spanned(
            event,
            format!(
                "invalid event pattern `{name}`: expected dot-separated segments of letters, digits, `_` or `-` \
                 (`payment_intent.succeeded`), a prefix (`customer.subscription.*`) or `*`"
            ),
        );
        return;
    };
    if unchecked {
        return;
    }
    match shape {
        Shape::Any => {}
        Shape::Exact(exact) => {
            if !catalogue::known_types().any(|known| known == exact) {
                let hint = catalogue::suggestion(exact)
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                errors.spanned(
                    event,
                    format!(
                        "unknown PaymentKit event type `{exact}`{hint}\n\
                         note: for another sender's event types, add `unchecked`: `#[on_event(\"{exact}\", unchecked)]`"
                    ),
                );
            }
        }
        Shape::Prefix(prefix) => {
            let dotted = format!("{prefix}.");
            if !catalogue::known_types().any(|known| known.starts_with(&dotted)) {
                errors.spanned(
                    event,
                    format!(
                        "no PaymentKit event type starts with `{dotted}`\n\
                         note: for another sender's event types, add `unchecked`"
                    ),
                );
            }
        }
    }
}

fn registration(function: &HandlerFn, types: &[&Type], event: &LitStr, krate: &Path) -> TokenStream {
    let private = quote!(#krate::__private);
    let ident = &function.sig.ident;
    let name = LitStr::new(&ident.to_string(), ident.span());
    let args: Vec<_> = (0..types.len()).map(|i| format_ident!("__webhook_arg{i}")).collect();
    // Each extraction is spanned at its argument's type, so "not a handler argument" errors
    // point at that type.
    let extractions = types.iter().zip(&args).map(|(ty, arg)| {
        quote_spanned! {ty.span()=>
            let #arg = match #private::extract::<#ty>(&__webhook_delivery) {
                #private::Result::Ok(value) => value,
                #private::Result::Err(error) => return #private::Result::Err(error),
            };
        }
    });
    let checks = types.iter().map(|ty| {
        quote_spanned! {ty.span()=>
            if let #private::Result::Err(missing) = #private::check::<#ty>(__webhook_resources) {
                return #private::Result::Err(missing);
            }
        }
    });
    let output_span = match &function.sig.output {
        ReturnType::Type(_, ty) => ty.span(),
        ReturnType::Default => ident.span(),
    };
    let call = quote_spanned! {output_span=>
        #private::into_result(#ident(#(#args),*).await)
    };
    quote! {
        #[doc(hidden)]
        #[allow(non_snake_case, unused_qualifications, clippy::all, clippy::pedantic)]
        const _: () = {
            fn __webhook_call(__webhook_delivery: #private::Delivery) -> #private::HandlerFuture {
                #private::Box::pin(async move {
                    #(#extractions)*
                    #call
                })
            }

            fn __webhook_check(
                __webhook_resources: &#private::Resources,
            ) -> #private::Result<(), #private::MissingState> {
                #(#checks)*
                #private::Result::Ok(())
            }

            #private::inventory::submit! {
                #private::Registration::new(
                    #event,
                    #private::concat!(#private::module_path!(), "::", #name),
                    #private::Location::new(#private::file!(), #private::line!(), #private::column!()),
                    __webhook_call,
                    __webhook_check,
                )
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(args: TokenStream, item: TokenStream) -> String {
        on_event(args, item).to_string()
    }

    #[test]
    fn registers_a_valid_handler_and_keeps_the_function() {
        let out = expand(
            quote!("payment_intent.succeeded"),
            quote!(
                /// Docs stay.
                #[inline]
                async fn fulfil(event: Event<PaymentIntent>) -> Result<(), HandlerError> { Ok(()) }
            ),
        );
        assert!(out.contains("async fn fulfil"));
        assert!(out.contains("Docs stay."));
        assert!(out.contains("inline"));
        assert!(out.contains(":: webhook_core :: __private :: inventory :: submit !"));
        assert!(!out.contains("compile_error"));
    }

    #[test]
    fn honours_the_crate_option() {
        let out = expand(
            quote!("invoice.paid", crate = my::wh),
            quote!(async fn f(e: Event) -> Result<(), E> { Ok(()) }),
        );
        assert!(out.contains("my :: wh :: __private :: inventory"));
        assert!(!out.contains(":: webhook_core"));
    }

    #[test]
    fn reports_every_mistake_at_once_and_keeps_the_item() {
        let out = expand(
            quote!("payment_intent.succeded", colour = "red"),
            quote!(fn f<T>(self) { }),
        );
        for expected in [
            "did you mean `payment_intent.succeeded`",
            "unknown option `colour`",
            "must be `async fn`",
            "cannot be generic",
            "cannot take `self`",
            "must return",
        ] {
            assert!(out.contains(expected), "missing {expected:?} in {out}");
        }
        assert!(out.contains("fn f"));
        assert!(!out.contains("submit"));
    }

    #[test]
    fn unchecked_allows_other_senders() {
        let out = expand(
            quote!("issues.opened", unchecked),
            quote!(async fn f(e: Event) -> Result<(), E> { Ok(()) }),
        );
        assert!(!out.contains("compile_error"), "{out}");
    }
}
