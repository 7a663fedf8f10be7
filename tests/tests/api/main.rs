//! The integration tests, one binary: one module per endpoint group or concern, sharing the
//! harness in `api_tests` (one DynamoDB per run, a fresh table per test, tests in parallel).

mod admin_roles;
mod agents;
mod applications;
mod assignments;
mod audit;
mod auth;
mod bounds;
mod cli;
mod dashboard;
mod docs_page;
mod dynamodb_local;
mod groups;
mod identity_providers;
mod integrity;
mod lambda;
mod oauth;
mod openapi;
mod outranks;
mod partners;
mod registration_requests;
mod scale;
mod sessions;
mod sign_in;
mod signing_keys;
mod tenants;
mod users;
