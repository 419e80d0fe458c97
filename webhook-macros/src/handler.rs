//! The annotated function: its signature is modelled and checked, its body kept opaque so a
//! syntax error inside it cannot stop the expansion.

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use quote::ToTokens;
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, FnArg, ReturnType, Signature, Type, Visibility};

use crate::errors::Errors;

pub(crate) struct HandlerFn {
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) sig: Signature,
    pub(crate) body: TokenStream,
}

impl Parse for HandlerFn {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        Ok(Self {
            attrs: input.call(Attribute::parse_outer)?,
            vis: input.parse()?,
            sig: input.parse()?,
            body: input.parse()?,
        })
    }
}

impl ToTokens for HandlerFn {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        for attr in &self.attrs {
            attr.to_tokens(tokens);
        }
        self.vis.to_tokens(tokens);
        self.sig.to_tokens(tokens);
        self.body.to_tokens(tokens);
    }
}

impl HandlerFn {
    /// The argument types, after reporting every unsupported shape of the signature.
    pub(crate) fn check(&self, errors: &mut Errors) -> Vec<&Type> {
        let sig = &self.sig;
        if let Some(constness) = &sig.constness {
            errors.spanned(constness, "`#[on_event]` handlers cannot be `const fn`");
        }
        if sig.asyncness.is_none() {
            errors.spanned(sig.fn_token, "`#[on_event]` handlers must be `async fn`");
        }
        if let Some(unsafety) = &sig.unsafety {
            errors.spanned(
                unsafety,
                "`#[on_event]` handlers cannot be `unsafe fn`: the receiver calls them with no \
                 precondition to uphold",
            );
        }
        if let Some(abi) = &sig.abi {
            errors.spanned(abi, "`#[on_event]` handlers cannot have an `extern` ABI");
        }
        if !sig.generics.params.is_empty() {
            errors.spanned(
                &sig.generics,
                "`#[on_event]` handlers cannot be generic; register a concrete wrapper function \
                 instead",
            );
        } else if let Some(where_clause) = &sig.generics.where_clause {
            errors.spanned(
                where_clause,
                "`#[on_event]` handlers cannot have a `where` clause",
            );
        }
        if let Some(variadic) = &sig.variadic {
            errors.spanned(variadic, "`#[on_event]` handlers cannot be variadic");
        }
        let mut types = Vec::new();
        for input in &sig.inputs {
            match input {
                FnArg::Receiver(receiver) => errors.spanned(
                    receiver,
                    "`#[on_event]` handlers cannot take `self`: methods cannot be registered; \
                     annotate a free function outside the `impl` block",
                ),
                FnArg::Typed(typed) => {
                    if let Type::ImplTrait(impl_trait) = &*typed.ty {
                        errors.spanned(
                            impl_trait,
                            "`#[on_event]` handler arguments need a concrete type, such as \
                             `Event<PaymentIntent>`",
                        );
                    } else {
                        types.push(&*typed.ty);
                    }
                }
            }
        }
        if sig.inputs.is_empty() {
            errors.push(syn::Error::new(
                sig.paren_token.span.join(),
                "`#[on_event]` handlers take at least one argument, such as \
                 `event: Event<PaymentIntent>`",
            ));
        }
        if let ReturnType::Default = sig.output {
            // Under the closing parenthesis: where the return type goes.
            errors.push(syn::Error::new(
                sig.paren_token.span.close(),
                "`#[on_event]` handlers must return `Result<(), E>`: add \
                 `-> Result<(), HandlerError>`",
            ));
        }
        let has_block = matches!(
            self.body.clone().into_iter().next(),
            Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::Brace
        );
        if !has_block {
            errors.spanned(&self.body, "`#[on_event]` handlers need a body");
        }
        types
    }

    /// The function as written, minus what rustc would report a second time: `const` on an
    /// `async fn` is already one of our errors.
    pub(crate) fn without_const(mut self) -> Self {
        self.sig.constness = None;
        self
    }
}
