//! The table's definition, for local use and tests (in AWS the SAM template creates it).

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};

use super::{Store, StoreError, keys};

fn key(name: &str, kind: KeyType) -> Result<KeySchemaElement, StoreError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .map_err(super::corrupt)
}

fn index(name: &str, pk: &str, sk: &str) -> Result<GlobalSecondaryIndex, StoreError> {
    GlobalSecondaryIndex::builder()
        .index_name(name)
        .key_schema(key(pk, KeyType::Hash)?)
        .key_schema(key(sk, KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .map_err(super::corrupt)
}

fn string_attribute(name: &str) -> Result<AttributeDefinition, StoreError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(super::corrupt)
}

impl Store {
    /// Adds the indexes a table made by an earlier version lacks (GSI3, the platform-wide
    /// audit index). In AWS the template does this; locally `scaikey table` does.
    async fn add_missing_indexes(&self) -> Result<(), StoreError> {
        let described = self
            .client()
            .describe_table()
            .table_name(self.table())
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let has_gsi3 = described.table().is_some_and(|t| {
            t.global_secondary_indexes()
                .iter()
                .any(|i| i.index_name() == Some(keys::GSI3))
        });
        if has_gsi3 {
            return Ok(());
        }
        let create = aws_sdk_dynamodb::types::CreateGlobalSecondaryIndexAction::builder()
            .index_name(keys::GSI3)
            .key_schema(key(keys::GSI3PK, KeyType::Hash)?)
            .key_schema(key(keys::GSI3SK, KeyType::Range)?)
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
            .map_err(super::corrupt)?;
        self.client()
            .update_table()
            .table_name(self.table())
            .attribute_definitions(string_attribute(keys::GSI3PK)?)
            .attribute_definitions(string_attribute(keys::GSI3SK)?)
            .global_secondary_index_updates(
                aws_sdk_dynamodb::types::GlobalSecondaryIndexUpdate::builder()
                    .create(create)
                    .build(),
            )
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    /// Creates the table with its indexes and TTL. Returns false if it already existed.
    pub async fn create_table(&self) -> Result<bool, StoreError> {
        let mut request = self
            .client()
            .create_table()
            .table_name(self.table())
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key(keys::PK, KeyType::Hash)?)
            .key_schema(key(keys::SK, KeyType::Range)?)
            .global_secondary_indexes(index(keys::GSI1, keys::GSI1PK, keys::GSI1SK)?)
            .global_secondary_indexes(index(keys::GSI2, keys::GSI2PK, keys::GSI2SK)?)
            .global_secondary_indexes(index(keys::GSI3, keys::GSI3PK, keys::GSI3SK)?);
        for name in [
            keys::PK,
            keys::SK,
            keys::GSI1PK,
            keys::GSI1SK,
            keys::GSI2PK,
            keys::GSI2SK,
            keys::GSI3PK,
            keys::GSI3SK,
        ] {
            request = request.attribute_definitions(string_attribute(name)?);
        }
        match request.send().await {
            Ok(_) => {}
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_in_use_exception()) =>
            {
                self.add_missing_indexes().await?;
                return Ok(false);
            }
            Err(err) => return Err(StoreError::from_sdk(err)),
        }
        let ttl = TimeToLiveSpecification::builder()
            .attribute_name(keys::TTL)
            .enabled(true)
            .build()
            .map_err(super::corrupt)?;
        self.client()
            .update_time_to_live()
            .table_name(self.table())
            .time_to_live_specification(ttl)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(true)
    }
}
