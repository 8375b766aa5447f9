//! Paging. Tokens are opaque to clients; like MLflow we encode an offset as base64 JSON, and we
//! reject tokens we did not make with a client error rather than a crash.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::StoreError;

/// One page of results and the token for the next one, if more rows exist.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_page_token: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from `limit + 1` fetched rows: the extra row only signals that more exist.
    #[must_use]
    pub fn from_overfetch(mut rows: Vec<T>, offset: usize, limit: usize) -> Self {
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next_page_token = more.then(|| {
            PageToken {
                offset: offset + limit,
            }
            .encode()
        });
        Self {
            items: rows,
            next_page_token,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PageToken {
    pub offset: usize,
}

impl PageToken {
    #[must_use]
    pub fn encode(self) -> String {
        STANDARD.encode(serde_json::to_vec(&self).expect("serializable"))
    }

    /// Decodes a client-supplied token; an empty string means the first page.
    pub fn decode(token: Option<&str>) -> Result<Self, StoreError> {
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return Ok(Self::default());
        };
        let invalid = || StoreError::InvalidParameter(format!("Invalid page token '{token}'"));
        let bytes = STANDARD.decode(token).map_err(|_| invalid())?;
        serde_json::from_slice(&bytes).map_err(|_| invalid())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_garbage() {
        let token = PageToken { offset: 42 }.encode();
        assert_eq!(PageToken::decode(Some(&token)).unwrap().offset, 42);
        assert_eq!(PageToken::decode(Some("")).unwrap().offset, 0);
        assert!(PageToken::decode(Some("%%%")).is_err());
        assert!(PageToken::decode(Some("aGVsbG8=")).is_err());
    }
}
