//! Code generation. Every path the generated code uses goes through `#krate::__private`, so the
//! expansion depends on neither the prelude nor the user's imports.

use proc_macro2::{TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{parse_quote, Attribute, Ident, LitStr, Path, ReturnType, Type, Visibility};

use crate::args::Args;
use crate::catalogue;
use crate::errors::Errors;
use crate::handler::HandlerFn;

pub(crate) fn on_event(args: TokenStream, item: TokenStream) -> TokenStream {
    let function: HandlerFn = match syn::parse2(item.clone()) {
        Ok(function) => function,
        Err(error) => return with_errors(item.clone(), not_a_function(item, &error)),
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
            catalogue::check(event, args.unchecked, &mut errors);
        }
    }
    let types = function.check(&mut errors);
    match (errors.into_compile_errors(), args) {
        (
            None,
            Some(Args {
                event: Some(event),
                krate,
                ..
            }),
        ) => {
            let krate = krate.unwrap_or_else(|| parse_quote!(::webhook_core));
            let registration = registration(&function, &types, &event, &krate);
            quote! {
                #function
                #registration
            }
        }
        // The function is emitted beside the errors, so the rest of the crate (and the IDE)
        // still sees it and no follow-up "cannot find function" errors appear.
        (errors, _) => with_errors(
            function.without_const().into_token_stream(),
            errors.unwrap_or_default(),
        ),
    }
}

fn with_errors(mut item: TokenStream, errors: TokenStream) -> TokenStream {
    item.extend(errors);
    item
}

/// The error for an item that does not parse as a function: at its keyword (`struct`, `impl`)
/// when it is another kind of item. A function whose signature does not parse gets no error
/// of ours: re-emitted as written, rustc reports the syntax error at the right token.
fn not_a_function(item: TokenStream, parse_error: &syn::Error) -> TokenStream {
    let keyword = syn::parse2::<ItemHead>(item)
        .ok()
        .and_then(|head| head.keyword);
    match keyword {
        Some(keyword) if keyword == "fn" => TokenStream::new(),
        Some(keyword) => syn::Error::new(
            keyword.span(),
            format!("`#[on_event]` can only be applied to an `async fn`, not to `{keyword}` items"),
        )
        .into_compile_error(),
        None => parse_error.to_compile_error(),
    }
}

/// The attributes, visibility and the first keyword of an item; for nothing but the error above.
struct ItemHead {
    keyword: Option<Ident>,
}

impl Parse for ItemHead {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        input.call(Attribute::parse_outer)?;
        input.parse::<Visibility>()?;
        // Qualifiers that may precede `fn`, so a broken signature is still recognised as a fn.
        let mut keyword = None;
        while let Ok(ident) = input.call(Ident::parse_any) {
            let qualifier = matches!(
                ident.to_string().as_str(),
                "const" | "async" | "unsafe" | "extern"
            );
            keyword = Some(ident);
            if !qualifier {
                break;
            }
            if input.peek(LitStr) {
                input.parse::<LitStr>()?;
            }
        }
        input.parse::<TokenStream>()?;
        Ok(Self { keyword })
    }
}

fn registration(
    function: &HandlerFn,
    types: &[&Type],
    event: &LitStr,
    krate: &Path,
) -> TokenStream {
    let private = quote!(#krate::__private);
    let ident = &function.sig.ident;
    // `r#type` is registered as `type`, the name `module_path!()`-style paths use.
    let name = LitStr::new(&ident.unraw().to_string(), ident.span());
    let args: Vec<Ident> = (0..types.len())
        .map(|i| format_ident!("__webhook_arg{i}"))
        .collect();
    let extractors: Vec<Ident> = (0..types.len())
        .map(|i| format_ident!("__WEBHOOK_ARG{i}"))
        .collect();
    // rustc reports an unmet trait bound at the generic argument that caused it, so naming
    // each type (with its own tokens) as the argument of a helper puts "`u32` cannot be an
    // argument of an `#[on_event]` handler" under `u32`. Each type is named once, in a const,
    // so each mistake is reported once. Locals keep the call-site span: respanning them would
    // break hygiene when the signature comes from a `macro_rules!` fragment.
    let arg_fns = types
        .iter()
        .map(|ty| quote_spanned!(ty.span()=> #private::arg::<#ty>));
    // The declared return type, as written: a type that is not `Result<(), E>` is reported
    // under it.
    let output = match &function.sig.output {
        ReturnType::Type(_, ty) if !mentions_impl(ty.to_token_stream()) => ty.to_token_stream(),
        ReturnType::Type(_, ty) => quote_spanned!(ty.span()=> _),
        ReturnType::Default => quote_spanned!(ident.span()=> _),
    };
    // The future's type is inferred, with the span of the handler's name: a future that is
    // not `Send` is reported there, as "future returned by `name` is not `Send`".
    let future = quote_spanned!(ident.span()=> _);
    let handle = quote!(#private::handle::<#future, #output>);
    let call = quote_spanned!(ident.span()=> #ident(#(#args),*));
    quote! {
        #[doc(hidden)]
        #[allow(non_snake_case, unused_qualifications, clippy::all, clippy::pedantic)]
        const _: () = {
            #(
                const #extractors: #private::Arg<#types> = #arg_fns();
            )*

            fn __webhook_call(__webhook_delivery: #private::Delivery) -> #private::HandlerFuture {
                #(
                    let #args = match (#extractors.extract)(&__webhook_delivery) {
                        #private::Result::Ok(value) => value,
                        #private::Result::Err(error) => return #private::fail(error),
                    };
                )*
                #handle(#call)
            }

            fn __webhook_check(
                __webhook_resources: &#private::Resources,
            ) -> #private::Result<(), #private::MissingState> {
                #(
                    if let #private::Result::Err(missing) = (#extractors.check)(__webhook_resources) {
                        return #private::Result::Err(missing);
                    }
                )*
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

/// `impl Trait` cannot be written as a generic argument; such a return type is left to
/// inference.
fn mentions_impl(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|token| match token {
        TokenTree::Ident(ident) => ident == "impl",
        TokenTree::Group(group) => mentions_impl(group.stream()),
        _ => false,
    })
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
                async fn fulfil(event: Event<PaymentIntent>) -> Result<(), HandlerError> {
                    Ok(())
                }
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
            quote!(
                async fn f(e: Event) -> Result<(), E> {
                    Ok(())
                }
            ),
        );
        assert!(out.contains("my :: wh :: __private :: inventory"));
        assert!(!out.contains(":: webhook_core"));
    }

    #[test]
    fn reports_every_mistake_at_once_and_keeps_the_item() {
        let out = expand(
            quote!("payment_intent.succeded", colour = "red"),
            quote!(
                fn f<T>(self) {}
            ),
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
    fn names_each_argument_type_once() {
        let out = expand(
            quote!("invoice.paid"),
            quote!(
                async fn f(e: Event<Invoice>, s: State<Db>, d: Delivery) -> Result<(), E> {
                    Ok(())
                }
            ),
        );
        // One `arg::<T>()` per argument: a wrong type is reported once, not per use.
        for ty in ["Event < Invoice >", "State < Db >", "Delivery"] {
            assert_eq!(
                out.matches(&format!("arg :: < {ty} >")).count(),
                1,
                "{ty}: {out}"
            );
        }
        assert_eq!(out.matches("__webhook_arg").count(), 6, "{out}");
    }

    #[test]
    fn rejects_other_items_at_their_keyword() {
        let out = expand(
            quote!("invoice.paid"),
            quote!(
                pub struct S;
            ),
        );
        assert!(out.contains("not to `struct` items"), "{out}");
        assert!(out.contains("pub struct S"), "{out}");
        // A function whose signature does not parse is left to rustc's own syntax error.
        let out = expand(quote!("invoice.paid"), quote!(async fn f(,) {}));
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn drops_const_from_a_rejected_function() {
        let out = expand(
            quote!("invoice.paid"),
            quote!(
                const async fn f(e: Event) -> Result<(), E> {
                    Ok(())
                }
            ),
        );
        assert!(out.contains("cannot be `const fn`"), "{out}");
        assert!(!out.contains("const async"), "{out}");
    }

    #[test]
    fn registers_a_raw_identifier_by_its_name() {
        let out = expand(
            quote!("invoice.paid"),
            quote!(
                async fn r#match(e: Event) -> Result<(), E> {
                    Ok(())
                }
            ),
        );
        assert!(out.contains(r#""::" , "match""#), "{out}");
    }

    #[test]
    fn unchecked_allows_other_senders() {
        let out = expand(
            quote!("issues.opened", unchecked),
            quote!(
                async fn f(e: Event) -> Result<(), E> {
                    Ok(())
                }
            ),
        );
        assert!(!out.contains("compile_error"), "{out}");
    }
}
