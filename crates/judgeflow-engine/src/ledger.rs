//! The cost ledger: tokens and dollars, target spend kept apart from judge spend. Cached calls
//! cost nothing: the point of the cache.

use std::collections::BTreeMap;

use crate::outcome::{CallRecord, Payer};
use crate::suite::PriceSpec;

/// Built-in prices (USD per million tokens, input / output) for common models; a suite's
/// `prices` add to and override them. Unknown models count tokens but no money.
const DEFAULT_PRICES: &[(&str, f64, f64)] = &[
    ("gpt-4o-mini", 0.15, 0.60),
    ("gpt-4o", 2.50, 10.00),
    ("gpt-4.1-nano", 0.10, 0.40),
    ("gpt-4.1-mini", 0.40, 1.60),
    ("gpt-4.1", 2.00, 8.00),
    ("o4-mini", 1.10, 4.40),
    ("gpt-3.5-turbo", 0.50, 1.50),
];

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Spend {
    pub calls: u64,
    pub cached_calls: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub usd: f64,
}

#[derive(Debug, Clone, Default)]
pub struct Ledger {
    prices: BTreeMap<String, PriceSpec>,
    pub target: Spend,
    pub judges: Spend,
}

impl Ledger {
    #[must_use]
    pub fn new(overrides: &BTreeMap<String, PriceSpec>) -> Self {
        let mut prices: BTreeMap<String, PriceSpec> = DEFAULT_PRICES
            .iter()
            .map(|(model, input, output)| {
                (
                    (*model).to_owned(),
                    PriceSpec {
                        input: *input,
                        output: *output,
                    },
                )
            })
            .collect();
        prices.extend(overrides.iter().map(|(k, v)| (k.clone(), *v)));
        Self {
            prices,
            ..Self::default()
        }
    }

    /// The price of a model: an exact name, else the longest known prefix (`gpt-4o-2024-08-06`
    /// is priced as `gpt-4o`).
    fn price(&self, model: &str) -> Option<PriceSpec> {
        self.prices.get(model).copied().or_else(|| {
            self.prices
                .iter()
                .filter(|(name, _)| model.starts_with(name.as_str()))
                .max_by_key(|(name, _)| name.len())
                .map(|(_, price)| *price)
        })
    }

    pub fn add(&mut self, call: &CallRecord) {
        let price = call.model.as_deref().and_then(|m| self.price(m));
        let spend = match call.payer {
            Payer::Target => &mut self.target,
            Payer::Judge => &mut self.judges,
        };
        spend.calls += 1;
        if call.cached {
            spend.cached_calls += 1;
            return;
        }
        let Some(usage) = call.usage else { return };
        spend.prompt_tokens += usage.prompt_tokens;
        spend.completion_tokens += usage.completion_tokens;
        if let Some(price) = price {
            spend.usd += (usage.prompt_tokens as f64 * price.input
                + usage.completion_tokens as f64 * price.output)
                / 1e6;
        }
    }
}
