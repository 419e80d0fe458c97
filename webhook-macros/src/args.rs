//! `#[on_event("type", crate = path, unchecked)]`.

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::{Ident, LitStr, Path, Token};

use crate::errors::Errors;

pub(crate) struct Args {
    pub(crate) event: Option<LitStr>,
    pub(crate) krate: Option<Path>,
    pub(crate) unchecked: bool,
    /// Mistakes that do not stop parsing (unknown or repeated options).
    pub(crate) errors: Vec<syn::Error>,
}

const EXPECTED: &str = "expected the event type as a string literal, such as \
    `#[on_event(\"payment_intent.succeeded\")]`";

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = Args {
            event: None,
            krate: None,
            unchecked: false,
            errors: Vec::new(),
        };
        if input.is_empty() {
            return Err(syn::Error::new(Span::call_site(), EXPECTED));
        }
        if input.peek(LitStr) {
            args.event = Some(input.parse()?);
        } else {
            return Err(syn::Error::new(input.span(), EXPECTED));
        }
        let mut seen: Vec<String> = Vec::new();
        while !input.is_empty() {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            let key = Ident::parse_any(input)?;
            let name = key.to_string();
            if seen.contains(&name) {
                args.errors.push(syn::Error::new(
                    key.span(),
                    format!("`{name}` is given more than once"),
                ));
            }
            seen.push(name.clone());
            match name.as_str() {
                "crate" => {
                    input.parse::<Token![=]>()?;
                    args.krate = Some(Path::parse_mod_style(input)?);
                }
                "unchecked" => args.unchecked = true,
                _ => {
                    args.errors.push(syn::Error::new(
                        key.span(),
                        format!("unknown option `{name}`, expected `crate = path` or `unchecked`"),
                    ));
                    // Skip the option's value so the remaining options are still checked.
                    while !input.is_empty() && !input.peek(Token![,]) {
                        input.parse::<proc_macro2::TokenTree>()?;
                    }
                }
            }
        }
        Ok(args)
    }
}

impl Args {
    pub(crate) fn report(&mut self, errors: &mut Errors) {
        for error in self.errors.drain(..) {
            errors.push(error);
        }
    }
}
