//! Identity provider handlers: authorize (in the operation's session check) → validate → call
//! → map.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use shared::audit::RequestMeta;
use shared::http::{ErrorBody, HttpValidationError, QueryFields, path_id};
use shared::ids::IdentityProviderId;
use shared::pagination::PageRequest;
use shared::sealing::Kek;
use shared::session::Caller;
use shared::validation::{self, Fields};
use shared::{AppState, Result};

use crate::operations::{self as idps, IdentityProviderFilter};
use crate::store::ProviderType;
use crate::wire::{
    IdentityProviderCreate, IdentityProviderList, IdentityProviderResponse, IdentityProviderUpdate,
    identity_provider_patch, new_identity_provider, provider_type, tenant_ref,
};

/// The key-encryption key that seals client secrets, when the router was given one of its own
/// (the Lambda: its state verifies tokens only and never opens signing keys). Without it, the
/// state's KEK (the local server, the tests).
#[derive(Clone)]
pub struct SecretKek(pub Option<Kek>);

fn sealing_kek(state: &AppState, given: Option<Extension<SecretKek>>) -> Option<Kek> {
    match given {
        Some(Extension(SecretKek(kek))) => kek,
        None => state.kek().cloned(),
    }
}

fn idp_id(raw: &str) -> Result<IdentityProviderId> {
    path_id(raw, "Identity provider", IdentityProviderId::parse)
}

/// List Identity Providers. **super_admin: all; partner_admin: its partner's tenants';
/// tenant_admin: its tenant's.** Newest first. 200; 401; 403 (a `tenant_id` filter outside
/// reach); 422.
#[utoipa::path(get, path = "/api/v1/admin/identity-providers", operation_id = "list_identity_providers", summary = "List Identity Providers", tag = "Identity Providers",
    params(("page" = Option<u32>, Query, minimum = 1, maximum = 10000, description = "1-based page; page × per_page ≤ 10,000 (deeper: `cursor`); ignored with `cursor`"),
           ("per_page" = Option<u32>, Query, minimum = 1, maximum = 100, description = "default 20"),
           ("cursor" = Option<String>, Query, description = "`pagination.next_cursor` of the previous page, unchanged (opaque and signed: any other value is a 422)"),
           ("search" = Option<String>, Query, max_length = 200, pattern = "^$|\\S", description = "case-insensitive substring of the name; empty = no filter"),
           ("tenant_id" = Option<String>, Query, pattern = "^tnt_[0-9a-hjkmnp-tv-z]{25}[048cgmrw]$"),
           ("provider_type" = Option<ProviderType>, Query)),
    responses((status = 200, body = IdentityProviderList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = HttpValidationError)),
    security(("bearer" = [])))]
pub(crate) async fn list_identity_providers(
    State(state): State<AppState>,
    caller: Caller,
    QueryFields(mut query): QueryFields,
) -> Result<Json<IdentityProviderList>> {
    let page = PageRequest::read(&mut query);
    let filter = IdentityProviderFilter {
        search: query.optional("search", |v| validation::text(v, 1, 200)),
        tenant_id: query.optional("tenant_id", tenant_ref),
        provider_type: query.optional("provider_type", provider_type),
    };
    let page = query.finish(|| page)?;
    let found = idps::list(&state, &caller, &filter, &page).await?;
    Ok(Json(IdentityProviderList {
        items: found.items.into_iter().map(Into::into).collect(),
        pagination: found.pagination,
    }))
}

/// Create Identity Provider (OIDC or SAML) in a tenant within reach. An OIDC client secret is
/// stored sealed and never returned (`config.client_secret_set`). 201; 401; 403 tenant outside
/// reach; 404 tenant; 409 a domain already routed to another provider of the tenant; 422.
#[utoipa::path(post, path = "/api/v1/admin/identity-providers", operation_id = "create_identity_provider", summary = "Create Identity Provider", tag = "Identity Providers",
    request_body = IdentityProviderCreate,
    responses((status = 201, body = IdentityProviderResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = HttpValidationError)),
    security(("bearer" = [])))]
pub(crate) async fn create_identity_provider(
    State(state): State<AppState>,
    kek: Option<Extension<SecretKek>>,
    caller: Caller,
    meta: RequestMeta,
    body: Result<Fields>,
) -> Result<(StatusCode, Json<IdentityProviderResponse>)> {
    let new = new_identity_provider(body?)?;
    let kek = sealing_kek(&state, kek);
    let idp = idps::create(&state, &caller, new, kek.as_ref(), &meta).await?;
    Ok((StatusCode::CREATED, Json(idp.into())))
}

/// Get Identity Provider. **Within reach.** 200; 401; 403 outside reach; 404.
#[utoipa::path(get, path = "/api/v1/admin/identity-providers/{idp_id}", operation_id = "get_identity_provider", summary = "Get Identity Provider", tag = "Identity Providers",
    params(("idp_id" = String, Path)),
    responses((status = 200, body = IdentityProviderResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn get_identity_provider(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<IdentityProviderResponse>> {
    let id = idp_id(&raw)?;
    Ok(Json(idps::get(&state, &caller, &id).await?.into()))
}

/// Update Identity Provider (partial; `config` replaces the config but for an absent
/// `client_secret`, which keeps the stored one). **Within reach.** 200; 401; 403; 404; 409 a
/// domain already routed to another provider of the tenant; 422 (also: another
/// `provider_type`).
#[utoipa::path(patch, path = "/api/v1/admin/identity-providers/{idp_id}", operation_id = "update_identity_provider", summary = "Update Identity Provider", tag = "Identity Providers",
    params(("idp_id" = String, Path)), request_body = IdentityProviderUpdate,
    responses((status = 200, body = IdentityProviderResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = HttpValidationError)),
    security(("bearer" = [])))]
pub(crate) async fn update_identity_provider(
    State(state): State<AppState>,
    kek: Option<Extension<SecretKek>>,
    caller: Caller,
    meta: RequestMeta,
    Path(raw): Path<String>,
    body: Fields,
) -> Result<Json<IdentityProviderResponse>> {
    let id = idp_id(&raw)?;
    let patch = identity_provider_patch(body)?;
    let kek = sealing_kek(&state, kek);
    Ok(Json(
        idps::update(&state, &caller, &id, &patch, kek.as_ref(), &meta)
            .await?
            .into(),
    ))
}

/// Delete Identity Provider (soft; its domains are free again at once). **Within reach.** 204;
/// 401; 403; 404.
#[utoipa::path(delete, path = "/api/v1/admin/identity-providers/{idp_id}", operation_id = "delete_identity_provider", summary = "Delete Identity Provider", tag = "Identity Providers",
    params(("idp_id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn delete_identity_provider(
    State(state): State<AppState>,
    caller: Caller,
    meta: RequestMeta,
    Path(raw): Path<String>,
) -> Result<StatusCode> {
    let id = idp_id(&raw)?;
    idps::delete(&state, &caller, &id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}
