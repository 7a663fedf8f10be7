//! A TransactWriteItems under construction. Every conditional action carries a [`Guard`]: the
//! rule it enforces, by name. A refused transaction reports the guard that refused it, so the
//! rules above match on names and no action's position ever leaves this module.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem, Update,
};

use super::{Item, Key, StoreError, corrupt};

pub fn s(text: impl Into<String>) -> AttributeValue {
    AttributeValue::S(text.into())
}

pub fn n(number: impl ToString) -> AttributeValue {
    AttributeValue::N(number.to_string())
}

/// What a conditional action guards. A transaction refused by its condition names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Guard {
    /// No condition.
    None,
    /// The written item itself: new (must not exist yet) or unchanged since it was read (its
    /// `version`). A refusal means a concurrent writer won: re-read and re-apply.
    Item,
    /// A uniqueness claim, named for what is unique ("slug", "email").
    Unique(&'static str),
    /// Another item that must exist and be live, and within its limit where the condition
    /// says so, named for what it is ("partner", "tenant").
    Parent(&'static str),
}

/// Names and values of one expression.
#[derive(Default)]
pub struct Expr {
    pub names: HashMap<String, String>,
    pub values: HashMap<String, AttributeValue>,
}

impl Expr {
    pub fn name(mut self, placeholder: &str, name: &str) -> Self {
        self.names.insert(placeholder.to_owned(), name.to_owned());
        self
    }
    pub fn value(mut self, placeholder: &str, value: AttributeValue) -> Self {
        self.values.insert(placeholder.to_owned(), value);
        self
    }
    pub(super) fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }
    pub(super) fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

/// The actions of one transaction, each with its guard.
pub struct Tx {
    actions: Vec<TransactWriteItem>,
    guards: Vec<Guard>,
    table: String,
}

fn built<T, E: std::fmt::Display>(r: Result<T, E>) -> Result<T, StoreError> {
    r.map_err(corrupt)
}

impl Tx {
    pub fn new(table: &str) -> Self {
        Self {
            actions: Vec::new(),
            guards: Vec::new(),
            table: table.to_owned(),
        }
    }

    pub fn len(&self) -> usize {
        self.actions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    fn push(&mut self, action: TransactWriteItem, guard: Guard) -> &mut Self {
        self.actions.push(action);
        self.guards.push(guard);
        self
    }

    /// Puts an item unconditionally.
    pub fn put(&mut self, item: Item) -> Result<&mut Self, StoreError> {
        self.put_if(item, Guard::None, None, Expr::default())
    }

    /// Puts an item if `condition` holds.
    pub fn put_if(
        &mut self,
        item: Item,
        guard: Guard,
        condition: Option<&str>,
        expr: Expr,
    ) -> Result<&mut Self, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned))
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values());
        let action = TransactWriteItem::builder()
            .put(built(put.build())?)
            .build();
        Ok(self.push(action, guard))
    }

    /// Puts an item that must not exist yet: a new entity (`Guard::Item`) or a uniqueness
    /// claim (`Guard::Unique`).
    pub fn put_new(&mut self, item: Item, guard: Guard) -> Result<&mut Self, StoreError> {
        self.put_if(
            item,
            guard,
            Some("attribute_not_exists(PK)"),
            Expr::default(),
        )
    }

    /// Puts the whole item only if nobody changed it since it was read at `read_version`.
    pub fn put_versioned(
        &mut self,
        item: Item,
        read_version: u64,
    ) -> Result<&mut Self, StoreError> {
        self.put_if(
            item,
            Guard::Item,
            Some("version = :read_version"),
            Expr::default().value(":read_version", n(read_version)),
        )
    }

    /// Updates an item unconditionally (it is created if missing).
    pub fn update(&mut self, key: &Key, update: &str, expr: Expr) -> Result<&mut Self, StoreError> {
        self.update_if(key, update, Guard::None, None, expr)
    }

    pub fn update_if(
        &mut self,
        key: &Key,
        update: &str,
        guard: Guard,
        condition: Option<&str>,
        expr: Expr,
    ) -> Result<&mut Self, StoreError> {
        let builder = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key.to_item()))
            .update_expression(update)
            .set_condition_expression(condition.map(str::to_owned))
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values());
        let action = TransactWriteItem::builder()
            .update(built(builder.build())?)
            .build();
        Ok(self.push(action, guard))
    }

    /// Deletes an item unconditionally.
    pub fn delete(&mut self, key: &Key) -> Result<&mut Self, StoreError> {
        let builder = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key.to_item()));
        let action = TransactWriteItem::builder()
            .delete(built(builder.build())?)
            .build();
        Ok(self.push(action, Guard::None))
    }

    /// Deletes an item that must exist (refused by `guard` when it is gone already).
    pub fn delete_existing(&mut self, key: &Key, guard: Guard) -> Result<&mut Self, StoreError> {
        let builder = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key.to_item()))
            .condition_expression("attribute_exists(PK)");
        let action = TransactWriteItem::builder()
            .delete(built(builder.build())?)
            .build();
        Ok(self.push(action, guard))
    }

    /// Requires `condition` of an item the transaction does not write.
    pub fn check(
        &mut self,
        key: &Key,
        guard: Guard,
        condition: &str,
        expr: Expr,
    ) -> Result<&mut Self, StoreError> {
        let builder = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key.to_item()))
            .condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values());
        let action = TransactWriteItem::builder()
            .condition_check(built(builder.build())?)
            .build();
        Ok(self.push(action, guard))
    }

    pub(crate) fn actions(&self) -> &[TransactWriteItem] {
        &self.actions
    }

    /// The guard of the first action whose condition failed, from DynamoDB's cancellation
    /// reasons (one per action, in order).
    pub(crate) fn refusing_guard(&self, reasons: &[String]) -> Option<Guard> {
        reasons
            .iter()
            .position(|r| r == "ConditionalCheckFailed")
            .and_then(|i| self.guards.get(i).copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_names_the_guard_of_the_failed_action() {
        let mut tx = Tx::new("t");
        tx.put_versioned(Key::new("A", "A").to_item(), 3).unwrap();
        tx.put_new(Key::new("B", "B").to_item(), Guard::Unique("slug"))
            .unwrap();
        tx.update(
            &Key::new("C", "C"),
            "ADD n :one",
            Expr::default().value(":one", n(1)),
        )
        .unwrap();
        let reasons = |i: usize| -> Vec<String> {
            (0..3)
                .map(|j| {
                    if j == i {
                        "ConditionalCheckFailed"
                    } else {
                        "None"
                    }
                    .to_owned()
                })
                .collect()
        };
        assert_eq!(tx.refusing_guard(&reasons(0)), Some(Guard::Item));
        assert_eq!(tx.refusing_guard(&reasons(1)), Some(Guard::Unique("slug")));
        assert_eq!(tx.refusing_guard(&vec!["None".to_owned(); 3]), None);
    }
}
