//! Juries: members run at once, a failing member is kept and left out of the aggregate.

use judgeflow_judges::{Aggregate, Judge, JudgeError, JudgeKind, Jury, OutputKind};
use judgeflow_test::{Fault, FaultRule, MockLlm};
use serde_json::{Value, json};

use crate::{Row, client};

fn member(mock: &MockLlm, model: &str, template: &str, output: OutputKind) -> Judge {
    let kind = JudgeKind::Custom {
        name: "quality".into(),
        template: template.into(),
        output,
    };
    Judge::new(kind, client(mock, model))
}

/// The model `broken` answers malformed JSON every time.
async fn mock() -> MockLlm {
    let mock = MockLlm::start().await;
    mock.state()
        .add_fault(FaultRule::always(Fault::MalformedJudge).for_model("broken"));
    mock
}

#[tokio::test]
async fn vote_is_the_majority_of_the_members_that_answered() {
    let mock = mock().await;
    mock.state().set_verdict("SAY-YES", json!("yes"));
    mock.state().set_verdict("SAY-NO", json!("no"));
    let jury = Jury::new(
        "panel",
        vec![
            member(&mock, "j1", "SAY-YES {{outputs}}", OutputKind::YesNo),
            member(&mock, "j2", "SAY-YES {{outputs}}", OutputKind::YesNo),
            member(&mock, "j3", "SAY-NO {{outputs}}", OutputKind::YesNo),
            member(&mock, "broken", "SAY-NO {{outputs}}", OutputKind::YesNo),
        ],
        Aggregate::Vote,
    );
    let row = Row::new("q", "a");
    let verdict = jury.judge(&row.input()).await.unwrap();
    assert_eq!(verdict.verdict.value, Value::Bool(true));
    assert_eq!(verdict.members.len(), 4);
    assert!(verdict.members[..3].iter().all(|m| m.result.is_ok()));
    assert!(matches!(
        verdict.members[3].result,
        Err(JudgeError::Malformed { .. })
    ));
    assert_eq!(verdict.members[3].model, "broken");
    assert!(
        verdict
            .verdict
            .rationale
            .starts_with("1 of 4 members failed")
    );
    assert_eq!(verdict.verdict.model, "j1,j2,j3");
    assert_eq!(verdict.verdict.calls, 3);
}

#[tokio::test]
async fn mean_is_the_mean_of_the_members_that_answered() {
    let mock = mock().await;
    mock.state().set_verdict("SCORE-TWO", json!(2));
    mock.state().set_verdict("SCORE-FIVE", json!(5));
    let score = OutputKind::Score { min: 1, max: 5 };
    let jury = Jury::new(
        "panel",
        vec![
            member(&mock, "j1", "SCORE-TWO {{outputs}}", score.clone()),
            member(&mock, "broken", "SCORE-TWO {{outputs}}", score.clone()),
            member(&mock, "j2", "SCORE-FIVE {{outputs}}", score),
        ],
        Aggregate::Mean,
    );
    let row = Row::new("q", "a");
    let verdict = jury.judge(&row.input()).await.unwrap();
    assert_eq!(verdict.verdict.value.as_f64(), Some(3.5));
    assert!(verdict.members[1].result.is_err());
    assert!(verdict.verdict.usage.is_some());
}

#[tokio::test]
async fn all_members_failing_is_the_first_error() {
    let mock = mock().await;
    let jury = Jury::new(
        "panel",
        vec![
            member(&mock, "broken", "{{outputs}}", OutputKind::YesNo),
            member(&mock, "broken", "{{outputs}}", OutputKind::YesNo),
        ],
        Aggregate::Vote,
    );
    let row = Row::new("q", "a");
    let error = jury.judge(&row.input()).await.unwrap_err();
    assert!(matches!(error, JudgeError::Malformed { .. }), "{error}");
}

#[tokio::test]
async fn a_jury_that_cannot_aggregate_is_rejected_before_any_call() {
    let mock = mock().await;
    let labels = OutputKind::Category(vec!["good".into(), "bad".into()]);
    let jury = Jury::new(
        "panel",
        vec![member(&mock, "j1", "{{outputs}}", labels)],
        Aggregate::Mean,
    );
    let error = jury.judge(&Row::new("q", "a").input()).await.unwrap_err();
    assert!(
        matches!(&error, JudgeError::Config(m) if m.contains("no mean")),
        "{error}"
    );
    assert_eq!(mock.state().counters().calls, 0);
}

#[tokio::test]
async fn members_on_different_scales_are_rejected() {
    let mock = mock().await;
    let jury = Jury::new(
        "panel",
        vec![
            member(
                &mock,
                "j1",
                "{{outputs}}",
                OutputKind::Score { min: 1, max: 5 },
            ),
            member(
                &mock,
                "j2",
                "{{outputs}}",
                OutputKind::Score { min: 1, max: 10 },
            ),
        ],
        Aggregate::Mean,
    );
    assert!(matches!(jury.validate(), Err(JudgeError::Config(m)) if m.contains("another scale")));
}
