//! Pairwise comparison in both orders.

use judgeflow_judges::{Pairwise, Winner};
use judgeflow_test::MockLlm;
use serde_json::json;

use crate::client;

#[tokio::test]
async fn agreeing_orders_give_the_winner() {
    let mock = MockLlm::start().await;
    // Whichever section holds the good answer is the one the stand-in picks.
    mock.state()
        .set_verdict("<output_a>\nGOOD ANSWER", json!("A"));
    mock.state()
        .set_verdict("<output_b>\nGOOD ANSWER", json!("B"));
    let pairwise = Pairwise::new(client(&mock, "judge"), None);
    let verdict = pairwise
        .compare(
            &json!({"question": "q"}),
            &json!("meh"),
            &json!("GOOD ANSWER"),
        )
        .await
        .unwrap();
    assert_eq!(
        (verdict.first_order, verdict.swapped_order, verdict.winner),
        (Winner::B, Winner::B, Winner::B)
    );
    assert!(!verdict.disagreement);
    assert_eq!(mock.state().counters().judge_calls, 2);
    let schema = &mock.state().requests()[0]["response_format"]["json_schema"]["schema"];
    assert_eq!(
        schema["properties"]["result"]["enum"],
        json!(["A", "B", "tie"])
    );
}

#[tokio::test]
async fn a_judge_that_follows_position_is_a_disagreement_and_a_tie() {
    let mock = MockLlm::start().await;
    mock.state().set_verdict("Compare two outputs", json!("A"));
    let pairwise = Pairwise::new(client(&mock, "judge"), Some("Which is funnier?".into()));
    let verdict = pairwise
        .compare(
            &json!("tell a joke"),
            &json!("joke one"),
            &json!("joke two"),
        )
        .await
        .unwrap();
    assert_eq!(
        (verdict.first_order, verdict.swapped_order),
        (Winner::A, Winner::B)
    );
    assert!(verdict.disagreement);
    assert_eq!(verdict.winner, Winner::Tie);
    assert!(verdict.rationale.contains("B shown first"));
    let user = mock.state().requests()[0]["messages"][1]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(user.contains("Which is funnier?"));
}
