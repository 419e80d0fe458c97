//! `#[on_event("type", crate = path, unchecked)]`.

use proc_macro2::{Span, TokenTree};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::{Ident, LitStr, Path, Token};

use crate::catalogue;
use crate::errors::Errors;

pub(crate) struct Args {
    pub(crate) event: Option<LitStr>,
    pub(crate) krate: Option<Path>,
    pub(crate) unchecked: bool,
    /// Mistakes that do not stop parsing (unknown or repeated options).
    pub(crate) errors: Vec<syn::Error>,
}

const EXAMPLE: &str = "`#[on_event(\"payment_intent.succeeded\")]`";
const OPTIONS: [&str; 2] = ["crate", "unchecked"];

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = Args {
            event: None,
            krate: None,
            unchecked: false,
            errors: Vec::new(),
        };
        if input.is_empty() {
            return Err(syn::Error::new(
                Span::call_site(),
                format!("`#[on_event]` needs the event type, such as {EXAMPLE}"),
            ));
        }
        if input.peek(LitStr) {
            args.event = Some(input.parse()?);
        } else {
            return Err(not_a_string_literal(input));
        }
        let mut seen: Vec<String> = Vec::new();
        while !input.is_empty() {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            // `crate` is a keyword, so it is not an `Ident` to `Ident::parse`.
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
                    let suggested = suggested_option(&name);
                    // A misspelt `unchecked` is reported once, not again as an unknown type.
                    args.unchecked |= suggested == Some("unchecked");
                    args.errors.push(unknown_option(&key, &name, suggested));
                    // Skip the option's value so the remaining options are still checked.
                    while !input.is_empty() && !input.peek(Token![,]) {
                        input.parse::<TokenTree>()?;
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

/// The most common slip is leaving out the quotes (`#[on_event(invoice.paid)]`), so when the
/// tokens spell a pattern, the message shows it quoted.
fn not_a_string_literal(input: ParseStream<'_>) -> syn::Error {
    let span = input.span();
    let mut spelled = String::new();
    let fork = input.fork();
    while !fork.is_empty() && !fork.peek(Token![,]) {
        match fork.parse::<TokenTree>() {
            Ok(TokenTree::Ident(ident)) => spelled.push_str(&ident.to_string()),
            Ok(TokenTree::Punct(punct)) if matches!(punct.as_char(), '.' | '*' | '-') => {
                spelled.push(punct.as_char());
            }
            _ => {
                spelled.clear();
                break;
            }
        }
    }
    let message = if spelled.is_empty() {
        format!("expected the event type as a string literal, such as {EXAMPLE}")
    } else {
        format!("expected the event type as a string literal: `#[on_event(\"{spelled}\")]`")
    };
    syn::Error::new(span, message)
}

fn suggested_option(name: &str) -> Option<&'static str> {
    OPTIONS
        .into_iter()
        .find(|option| catalogue::edit_distance(name, option) <= 2)
}

fn unknown_option(key: &Ident, name: &str, suggested: Option<&str>) -> syn::Error {
    let hint = suggested
        .map(|option| format!("; did you mean `{option}`?"))
        .unwrap_or_default();
    syn::Error::new(
        key.span(),
        format!("unknown option `{name}`{hint} (the options are `crate = path` and `unchecked`)"),
    )
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;

    fn parse(tokens: proc_macro2::TokenStream) -> syn::Result<Args> {
        syn::parse2(tokens)
    }

    #[test]
    fn reads_the_event_and_options() {
        let args = parse(quote!("invoice.paid", crate = my::wh, unchecked,)).unwrap();
        assert_eq!(args.event.unwrap().value(), "invoice.paid");
        assert!(args.krate.is_some());
        assert!(args.unchecked);
        assert!(args.errors.is_empty());
    }

    #[test]
    fn keeps_checking_after_an_unknown_or_repeated_option() {
        let args = parse(quote!(
            "a.b",
            uncheked,
            colour = "red",
            unchecked,
            unchecked
        ))
        .unwrap();
        let messages: Vec<String> = args.errors.iter().map(ToString::to_string).collect();
        assert_eq!(messages.len(), 3, "{messages:?}");
        assert!(messages[0].contains("did you mean `unchecked`"));
        assert!(messages[1].starts_with("unknown option `colour` ("));
        assert_eq!(messages[2], "`unchecked` is given more than once");
        assert!(args.unchecked);
    }

    #[test]
    fn suggests_quotes_for_a_bare_pattern() {
        let error = parse(quote!(customer.subscription.*)).err().unwrap();
        assert!(
            error
                .to_string()
                .ends_with("`#[on_event(\"customer.subscription.*\")]`"),
            "{error}"
        );
        let error = parse(quote!(42)).err().unwrap();
        assert!(error.to_string().contains("such as"), "{error}");
        let error = parse(quote!()).err().unwrap();
        assert!(
            error.to_string().contains("needs the event type"),
            "{error}"
        );
    }
}
