//! A TransactWriteItems under construction.

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
}

#[derive(Default)]
pub struct Tx {
    actions: Vec<TransactWriteItem>,
    table: String,
}

fn built<T, E: std::fmt::Display>(r: Result<T, E>) -> Result<T, StoreError> {
    r.map_err(corrupt)
}

impl Tx {
    pub fn new(table: &str) -> Self {
        Self {
            actions: Vec::new(),
            table: table.to_owned(),
        }
    }

    pub fn len(&self) -> usize {
        self.actions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    /// Puts an item; with `condition`, only if it holds.
    pub fn put(
        &mut self,
        item: Item,
        condition: Option<&str>,
        expr: Expr,
    ) -> Result<&mut Self, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned))
            .set_expression_attribute_names((!expr.names.is_empty()).then_some(expr.names))
            .set_expression_attribute_values((!expr.values.is_empty()).then_some(expr.values));
        self.actions.push(
            TransactWriteItem::builder()
                .put(built(put.build())?)
                .build(),
        );
        Ok(self)
    }

    /// Puts an item that must not exist yet (a new entity, or a uniqueness claim).
    pub fn put_new(&mut self, item: Item) -> Result<&mut Self, StoreError> {
        self.put(item, Some("attribute_not_exists(PK)"), Expr::default())
    }

    pub fn update(
        &mut self,
        key: &Key,
        update: &str,
        condition: Option<&str>,
        expr: Expr,
    ) -> Result<&mut Self, StoreError> {
        let builder = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key.to_item()))
            .update_expression(update)
            .set_condition_expression(condition.map(str::to_owned))
            .set_expression_attribute_names((!expr.names.is_empty()).then_some(expr.names))
            .set_expression_attribute_values((!expr.values.is_empty()).then_some(expr.values));
        self.actions.push(
            TransactWriteItem::builder()
                .update(built(builder.build())?)
                .build(),
        );
        Ok(self)
    }

    pub fn delete(
        &mut self,
        key: &Key,
        condition: Option<&str>,
        expr: Expr,
    ) -> Result<&mut Self, StoreError> {
        let builder = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key.to_item()))
            .set_condition_expression(condition.map(str::to_owned))
            .set_expression_attribute_names((!expr.names.is_empty()).then_some(expr.names))
            .set_expression_attribute_values((!expr.values.is_empty()).then_some(expr.values));
        self.actions.push(
            TransactWriteItem::builder()
                .delete(built(builder.build())?)
                .build(),
        );
        Ok(self)
    }

    pub fn check(
        &mut self,
        key: &Key,
        condition: &str,
        expr: Expr,
    ) -> Result<&mut Self, StoreError> {
        let builder = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key.to_item()))
            .condition_expression(condition)
            .set_expression_attribute_names((!expr.names.is_empty()).then_some(expr.names))
            .set_expression_attribute_values((!expr.values.is_empty()).then_some(expr.values));
        self.actions.push(
            TransactWriteItem::builder()
                .condition_check(built(builder.build())?)
                .build(),
        );
        Ok(self)
    }

    pub fn into_actions(self) -> Vec<TransactWriteItem> {
        self.actions
    }
}
