use super::*;
use proptest::prelude::*;

fn runs(filter: &str) -> Result<Vec<Comparison>, SearchError> {
    parse_filter(filter, &RUNS)
}

#[test]
fn parses_the_clients_two_clause_filter() {
    let parsed = runs("metrics.loss > 1 and params.lr = '0.1'").unwrap();
    assert_eq!(
        parsed,
        vec![
            Comparison {
                entity: EntityType::Metric,
                key: "loss".into(),
                op: CompareOp::Gt,
                value: Literal::Number(1.0)
            },
            Comparison {
                entity: EntityType::Param,
                key: "lr".into(),
                op: CompareOp::Eq,
                value: Literal::String("0.1".into())
            },
        ]
    );
}

#[test]
fn registry_grammars_take_what_the_client_sends() {
    let parsed = parse_filter(
        "name ILIKE '%m%' AND tag.`mlflow.prompt.is_prompt` != 'true'",
        &REGISTERED_MODELS,
    )
    .unwrap();
    assert_eq!(parsed[1].entity, EntityType::Tag);
    assert_eq!(parsed[1].key, "mlflow.prompt.is_prompt");
    assert_eq!(parsed[1].op, CompareOp::Ne);
    let order = parse_order_by("timestamp DESC", &REGISTERED_MODELS).unwrap();
    assert_eq!(order.key, "last_updated_timestamp");
    assert!(parse_filter("run_id = 'x'", &REGISTERED_MODELS).is_err());
    assert!(parse_filter("tags.k IS NULL", &REGISTERED_MODELS).is_err());

    let parsed = parse_filter(
        "name IN ('a', 'b') AND version_number > 1 AND tags.`k.1` = 'v'",
        &MODEL_VERSIONS,
    )
    .unwrap();
    assert_eq!(parsed[0].value, Literal::List(vec!["a".into(), "b".into()]));
    assert_eq!(parsed[1].value, Literal::Number(1.0));
    assert!(parse_filter("version_number = 'x'", &MODEL_VERSIONS).is_err());
    assert!(parse_filter("metrics.m > 1", &MODEL_VERSIONS).is_err());
}

#[test]
fn quoted_keys_and_aliases() {
    let parsed = runs(
        "tags.`mlflow.user` != 'x' AND attributes.\"run name\" LIKE 'a%' AND run.created >= 5",
    )
    .unwrap();
    assert_eq!(parsed[0].key, "mlflow.user");
    assert_eq!(parsed[1].key, "run_name");
    assert_eq!(parsed[1].op, CompareOp::Like);
    assert_eq!(parsed[2].key, "start_time");
    let dotted = runs("metrics.a.b.c = 1").unwrap();
    assert_eq!(dotted[0].key, "a.b.c");
}

#[test]
fn in_lists_null_checks_and_datasets() {
    let parsed = runs("attributes.run_id IN ('a', 'b') and params.p IS NOT NULL and tags.t is null and datasets.name NOT IN ('d')").unwrap();
    assert_eq!(parsed[0].value, Literal::List(vec!["a".into(), "b".into()]));
    assert_eq!(parsed[1].op, CompareOp::IsNotNull);
    assert_eq!(parsed[2].op, CompareOp::IsNull);
    assert_eq!(parsed[3].op, CompareOp::NotIn);
}

#[test]
fn errors_point_at_the_offending_token() {
    let err = runs("metrics.loss >> 1").unwrap_err();
    assert_eq!(err.position, 13);
    assert!(
        err.message.starts_with("Invalid comparator '>>'"),
        "{}",
        err.message
    );

    let err = runs("metrics.loss < 'a'").unwrap_err();
    assert_eq!(err.position, 15);
    assert!(err.message.contains("numeric"), "{}", err.message);

    let err = runs("params.a = '1' OR params.b = '2'").unwrap_err();
    assert_eq!(err.position, 15);
    assert!(err.message.contains("OR"));

    let err = runs("foo.bar = 'x'").unwrap_err();
    assert_eq!(err.position, 0);
    assert!(err.message.contains("Invalid entity type 'foo'"));

    let err = runs("attributes.nope = 'x'").unwrap_err();
    assert!(err.message.contains("Invalid attribute key 'nope'"));

    let err = runs("params.a LIKE").unwrap_err();
    assert_eq!(err.position, 13);

    let err = runs("metrics.m LIKE 1").unwrap_err();
    assert!(
        err.message.contains("Invalid comparator 'LIKE' for metric"),
        "{}",
        err.message
    );

    let err = runs("params.a = 'x' AND").unwrap_err();
    assert!(err.message.contains("after AND"));
    assert!(err.to_string().contains("position"));
}

#[test]
fn experiments_and_logged_models() {
    let parsed = parse_filter("name LIKE 's1%' and tags.team = 'a'", &EXPERIMENTS).unwrap();
    assert_eq!(parsed[0].entity, EntityType::Attribute);
    assert!(parse_filter("metrics.x > 1", &EXPERIMENTS).is_err());
    let parsed = parse_filter("name = 'dir' AND creation_time > 5", &LOGGED_MODELS).unwrap();
    assert_eq!(parsed[1].key, "creation_timestamp");
}

#[test]
fn order_by_clauses() {
    assert_eq!(
        parse_order_by("metrics.loss DESC", &RUNS).unwrap(),
        OrderBy {
            entity: EntityType::Metric,
            key: "loss".into(),
            ascending: false
        }
    );
    assert_eq!(
        parse_order_by("attributes.start_time", &RUNS).unwrap(),
        OrderBy {
            entity: EntityType::Attribute,
            key: "start_time".into(),
            ascending: true
        }
    );
    assert_eq!(parse_order_by("tags.`a b` asc", &RUNS).unwrap().key, "a b");
    assert!(parse_order_by("metrics.loss SIDEWAYS", &RUNS).is_err());
    assert!(parse_order_by("", &RUNS).is_err());
}

fn key_strategy() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_]{0,12}"
}

fn string_value() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 %_'.-]{0,12}"
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

proptest! {
    /// Any text at all: the parser returns Ok or a positioned error, never panics, and the
    /// position is inside (or at the end of) the input.
    #[test]
    fn never_panics(input in "\\PC{0,60}") {
        if let Err(err) = parse_filter(&input, &RUNS) {
            prop_assert!(err.position <= input.len());
        }
        let _ = parse_order_by(&input, &RUNS);
    }

    /// A conjunction of well-formed clauses parses back to exactly those clauses.
    #[test]
    fn well_formed_conjunctions_round_trip(
        clauses in proptest::collection::vec(
            (0u8..3, key_strategy(), string_value(), -1.0e6f64..1.0e6),
            1..6,
        )
    ) {
        let mut text = Vec::new();
        let mut expected = Vec::new();
        for (kind, key, s, n) in &clauses {
            match kind {
                0 => {
                    text.push(format!("metrics.`{key}` >= {n:?}"));
                    expected.push(Comparison { entity: EntityType::Metric, key: key.clone(), op: CompareOp::Ge, value: Literal::Number(*n) });
                }
                1 => {
                    text.push(format!("params.{key} = {}", quote(s)));
                    expected.push(Comparison { entity: EntityType::Param, key: key.clone(), op: CompareOp::Eq, value: Literal::String(s.clone()) });
                }
                _ => {
                    text.push(format!("tags.\"{key}\" ILIKE {}", quote(s)));
                    expected.push(Comparison { entity: EntityType::Tag, key: key.clone(), op: CompareOp::ILike, value: Literal::String(s.clone()) });
                }
            }
        }
        let joined = text.join(" AND ");
        prop_assert_eq!(parse_filter(&joined, &RUNS).unwrap(), expected);
    }
}
