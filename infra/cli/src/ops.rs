//! Operations the CLI performs directly against the table.

use serde_json::Map;
use shared::access::AdminRole;
use shared::domain::PLATFORM_SLUG;
use shared::domain::audit::{Actor, AuditEvent, RequestMeta};
use shared::domain::auth::{RoleGrant, User, UserStatus};
use shared::domain::partners::{Partner, PartnerLimits};
use shared::domain::tenants::Tenant;
use shared::domain::values::{Email, Status};
use shared::ids::{PartnerId, RoleId, TenantId, UserId};
use shared::store::{Store, keys};
use shared::time::Timestamp;
use shared::{AppState, Error};

fn system() -> Actor {
    Actor::system("scaikey-cli")
}

fn meta() -> RequestMeta {
    RequestMeta {
        request_id: Some(uuid_like()),
        ip_address: None,
        user_agent: Some("scaikey-cli".into()),
    }
}

fn uuid_like() -> String {
    format!("cli-{}", Timestamp::now().unix())
}

/// Who owns a uniqueness marker.
async fn marker_owner(store: &Store, key: &keys::Key) -> Result<Option<String>, Error> {
    let item = store.get(key).await?;
    Ok(item.and_then(|i| i.get("owner_id").and_then(|v| v.as_s().ok()).cloned()))
}

/// The platform partner and tenant, created if missing. Returns their ids and what was created.
pub async fn ensure_platform(
    state: &AppState,
) -> Result<(PartnerId, TenantId, Vec<String>), Error> {
    let store = state.store();
    let mut created = Vec::new();
    let now = Timestamp::now();
    let partner_id = match marker_owner(store, &keys::partner_slug(PLATFORM_SLUG)).await? {
        Some(id) => PartnerId::parse(&id).map_err(Error::internal)?,
        None => {
            let partner = Partner {
                id: PartnerId::generate(),
                name: "Platform".into(),
                slug: PLATFORM_SLUG.into(),
                status: Status::Active,
                contact_email: "platform@scaikey.local".into(),
                limits: PartnerLimits::default(),
                tenant_count: 0,
                created_at: now,
                updated_at: now,
                deleted_at: None,
                version: 1,
            };
            let event = AuditEvent::new(
                system(),
                "partner.create",
                "partner",
                Some(partner.id.to_string()),
                &meta(),
            )
            .in_partner(&partner.id);
            store.create_partner(&partner, &event).await?;
            created.push(format!("platform partner {}", partner.id));
            partner.id
        }
    };
    let tenant_id = match marker_owner(store, &keys::tenant_slug(PLATFORM_SLUG)).await? {
        Some(id) => TenantId::parse(&id).map_err(Error::internal)?,
        None => {
            let tenant = Tenant {
                id: TenantId::generate(),
                partner_id: partner_id.clone(),
                name: "Platform".into(),
                slug: PLATFORM_SLUG.into(),
                status: Status::Active,
                contact_email: None,
                settings: Map::new(),
                branding: Map::new(),
                user_count: 0,
                created_at: now,
                updated_at: now,
                deleted_at: None,
                version: 1,
            };
            let event = AuditEvent::new(
                system(),
                "tenant.create",
                "tenant",
                Some(tenant.id.to_string()),
                &meta(),
            )
            .in_tenant(&partner_id, &tenant.id);
            store.create_tenant(&tenant, &event).await?;
            created.push(format!("platform tenant {}", tenant.id));
            tenant.id
        }
    };
    Ok((partner_id, tenant_id, created))
}

/// A signing key and the cursor secret, if there are none yet.
pub async fn ensure_keys(state: &AppState) -> Result<Vec<String>, Error> {
    let store = state.store();
    let mut created = Vec::new();
    let (records, _) = store.find_signing_material().await?;
    if !records.iter().any(|r| r.retired_at.is_none()) {
        let record = shared::tokens::generate_signing_key()?;
        store.add_signing_key(&record, &[], 0).await?;
        created.push(format!("signing key {}", record.kid));
    }
    if store.ensure_cursor_secret().await? {
        created.push("cursor secret".into());
    }
    state.keys().reload().await?;
    Ok(created)
}

/// Makes a new key the active one; the old ones stay published until no token they signed
/// can still be live.
pub async fn rotate_keys(state: &AppState) -> Result<String, Error> {
    let store = state.store();
    let (records, _) = store.find_signing_material().await?;
    let active: Vec<_> = records
        .into_iter()
        .filter(|r| r.retired_at.is_none())
        .collect();
    let record = shared::tokens::generate_signing_key()?;
    let publish_for = state.config().access_token_ttl.as_secs() + shared::tokens::LEEWAY_SECONDS;
    store.add_signing_key(&record, &active, publish_for).await?;
    state.keys().reload().await?;
    Ok(record.kid.to_string())
}

pub struct NewAdmin {
    pub email: String,
    pub password: String,
    pub role: AdminRole,
    pub partner_id: Option<PartnerId>,
    pub tenant_id: Option<TenantId>,
}

/// Creates a user holding one admin role. A super admin lives in the platform tenant; a
/// partner admin in `tenant_id` (a tenant of its partner) or the platform tenant; a tenant
/// admin in its tenant. Returns the user id, or `None` if the email already holds admin roles.
pub async fn create_admin(state: &AppState, admin: NewAdmin) -> Result<Option<UserId>, Error> {
    let store = state.store();
    let email = Email::parse_str(&admin.email)
        .map_err(|p| Error::internal(format!("--email: {}", p.msg)))?;
    let (_, platform_tenant, _) = ensure_platform(state).await?;
    let home = match (admin.role, &admin.tenant_id) {
        (AdminRole::SuperAdmin, _) => platform_tenant.clone(),
        (AdminRole::PartnerAdmin, Some(t)) => t.clone(),
        (AdminRole::PartnerAdmin, None) => platform_tenant.clone(),
        (AdminRole::TenantAdmin, Some(t)) => t.clone(),
        (AdminRole::TenantAdmin, None) => {
            return Err(Error::internal("a tenant admin needs --tenant-id"));
        }
    };
    let loaded = store.load(&[keys::tenant(&home)]).await?;
    let tenant = loaded
        .tenant(&home)?
        .filter(|t| !t.is_deleted())
        .ok_or(Error::NotFound("Tenant"))?;
    let scope_partner = match admin.role {
        AdminRole::PartnerAdmin => {
            let p = admin
                .partner_id
                .clone()
                .ok_or_else(|| Error::internal("a partner admin needs --partner-id"))?;
            let partner = store.load(&[keys::partner(&p)]).await?.partner(&p)?;
            partner
                .filter(|p| !p.is_deleted())
                .ok_or(Error::NotFound("Partner"))?;
            if home != platform_tenant && tenant.partner_id != p {
                return Err(Error::internal(
                    "--tenant-id must be a tenant of --partner-id",
                ));
            }
            Some(p)
        }
        _ => None,
    };
    let password = admin.password.clone();
    let hash = tokio::task::spawn_blocking(move || shared::password::hash(&password))
        .await
        .map_err(Error::internal)??;
    let now = Timestamp::now();
    let grant = RoleGrant {
        id: RoleId::generate(),
        role: admin.role,
        partner_id: scope_partner,
        tenant_id: (admin.role == AdminRole::TenantAdmin).then(|| home.clone()),
        is_active: true,
        expires_at: None,
        created_at: now,
        created_by: Some("scaikey-cli".into()),
    };
    let user = User {
        id: UserId::generate(),
        tenant_id: home.clone(),
        email: email.as_str().to_owned(),
        first_name: None,
        last_name: None,
        display_name: None,
        status: UserStatus::Active,
        password_hash: Some(hash),
        admin_roles: vec![grant.clone()],
        last_login_at: None,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let event = AuditEvent::new(
        system(),
        "user.create",
        "user",
        Some(user.id.to_string()),
        &meta(),
    )
    .in_tenant(&tenant.partner_id, &home);
    match store
        .create_admin_user(&user, &tenant, &grant, &event)
        .await
    {
        Ok(()) => Ok(Some(user.id)),
        Err(err) if matches!(err.failed_condition(), Some(1) | Some(2)) => Ok(None),
        Err(err) => Err(err.into()),
    }
}
