//! Identifier formats MLflow clients expect: 32 lowercase hex digits for runs, `m-` + 32 hex for
//! logged models.

use uuid::Uuid;

/// A new run id: 32 lowercase hex digits.
#[must_use]
pub fn new_run_id() -> String {
    Uuid::new_v4().simple().to_string()
}

/// A new logged-model id: `m-` followed by 32 hex digits.
#[must_use]
pub fn new_logged_model_id() -> String {
    format!("m-{}", Uuid::new_v4().simple())
}

const ADJECTIVES: &[&str] = &[
    "agile", "bold", "brave", "bright", "calm", "clever", "crisp", "daring", "eager", "fancy",
    "gentle", "glad", "honest", "keen", "lively", "lucky", "merry", "nimble", "polite", "proud",
    "quick", "quiet", "rare", "shy", "silent", "smooth", "steady", "sunny", "swift", "tidy",
    "vivid", "wise",
];
const NOUNS: &[&str] = &[
    "ant", "bat", "bear", "bee", "cat", "colt", "crane", "deer", "dove", "eel", "finch", "fox",
    "frog", "gnu", "hare", "hawk", "lark", "lynx", "mole", "moth", "newt", "owl", "panda", "quail",
    "ram", "robin", "seal", "slug", "snail", "toad", "whale", "wolf",
];

/// A readable random run name (`swift-owl-417`), like the names MLflow gives unnamed runs.
#[must_use]
pub fn random_run_name() -> String {
    let bytes = Uuid::new_v4().into_bytes();
    let adjective = ADJECTIVES[usize::from(bytes[0]) % ADJECTIVES.len()];
    let noun = NOUNS[usize::from(bytes[1]) % NOUNS.len()];
    let number = u16::from_le_bytes([bytes[2], bytes[3]]) % 1000;
    format!("{adjective}-{noun}-{number}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_mlflow_shapes() {
        let run = new_run_id();
        assert_eq!(run.len(), 32);
        assert!(
            run.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        let model = new_logged_model_id();
        assert!(model.starts_with("m-") && model.len() == 34);
        let name = random_run_name();
        assert_eq!(name.split('-').count(), 3);
    }
}
