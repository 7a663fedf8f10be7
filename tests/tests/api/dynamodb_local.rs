//! What the database under test guarantees, probed without the API: the groups' cycle rule
//! rests on DynamoDB's serializable transactions (two transactions with the same condition on
//! one item cannot both commit). Run against a database to see whether it keeps that promise:
//! `cargo test -p api-tests --test api -- --ignored dynamodb_local --nocapture`.

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};

fn update(pk: &str, sk: &str, expression: &str, condition: Option<&str>) -> TransactWriteItem {
    let mut u = Update::builder()
        .table_name(TABLE.get().expect("table").clone())
        .key("PK", AttributeValue::S(pk.into()))
        .key("SK", AttributeValue::S(sk.into()))
        .update_expression(expression)
        .expression_attribute_values(":one", AttributeValue::N("1".into()));
    if let Some(c) = condition {
        u = u.condition_expression(c);
    }
    TransactWriteItem::builder()
        .update(u.build().expect("update"))
        .build()
}

static TABLE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Two transactions at once, each: bump two shared items (as a nesting bumps both groups) and
/// create one version item under `attribute_not_exists(PK)` (as the first nesting of a tenant
/// does). Serializable isolation lets exactly one commit, every round.
#[tokio::test]
#[ignore = "a probe of the database, not of the API"]
async fn dynamodb_local_two_conditional_transactions_never_both_commit() {
    let Some(app) = api_tests::spawn_app().await else {
        return;
    };
    let store = app.state.store().clone();
    let _ = TABLE.set(store.table().to_owned());
    let rounds: usize = std::env::var("PROBE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let mut both = 0;
    let mut neither = 0;
    for round in 0..rounds {
        let items = |tag: &str| {
            vec![
                update(
                    &format!("G#{round}#A"),
                    "G",
                    &format!("ADD {tag} :one"),
                    None,
                ),
                update(
                    &format!("G#{round}#B"),
                    "G",
                    &format!("ADD {tag} :one"),
                    None,
                ),
                update(
                    &format!("T#{round}"),
                    "V",
                    "SET version = :one",
                    Some("attribute_not_exists(PK)"),
                ),
            ]
        };
        let send = |actions: Vec<TransactWriteItem>| {
            let client = store.client().clone();
            async move {
                // A conflict is retried, as the store does; a failed condition is a refusal.
                for _ in 0..10 {
                    match client
                        .transact_write_items()
                        .set_transact_items(Some(actions.clone()))
                        .send()
                        .await
                    {
                        Ok(_) => return true,
                        Err(e) => {
                            let text = format!("{e:?}");
                            if text.contains("ConditionalCheckFailed") {
                                return false;
                            }
                            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        }
                    }
                }
                false
            }
        };
        let (one, two) = tokio::join!(send(items("x")), send(items("y")));
        match (one, two) {
            (true, true) => both += 1,
            (false, false) => neither += 1,
            _ => {}
        }
    }
    eprintln!("{rounds} rounds: both committed {both}, neither {neither}");
    assert_eq!(
        both, 0,
        "two transactions with one condition both committed"
    );
}
