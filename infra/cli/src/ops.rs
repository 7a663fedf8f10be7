//! Operations the CLI performs: it calls the same cores as the API (partner and tenant
//! creation), acting as the `scaikey-cli` system actor.

use serde_json::{Map, json};
use shared::access::AdminRole;
use shared::audit::{Actor, AuditAction, AuditEvent, RequestMeta};
use shared::hierarchy::{
    AdminEmailOwner, PLATFORM_SLUG, Partner, PartnerLimits, Platform, RoleGrant, Tenant, User,
};
use shared::ids::{PartnerId, RoleId, TenantId, UserId};
use shared::lifecycle::live;
use shared::store::counters::Counter;
use shared::store::write::claim;
use shared::store::{Entity, Expr, Guard, Item, Store, StoreError, encode, keys, n, s, with_keys};
use shared::time::Timestamp;
use shared::values::{Email, Name, Slug, Status};
use shared::{AppState, Error};

/// Admin users are created here until the users group exists (its create will replace this).
/// Admins created here are recorded as the users group records any user it creates.
pub const USER_CREATE: AuditAction = users::operations::CREATE;
/// What the CLI itself records: its part of the audit catalogue.
pub const ACTIONS: &[AuditAction] = &[];

fn system() -> Actor {
    Actor::system("scaikey-cli")
}

fn meta() -> RequestMeta {
    RequestMeta {
        request_id: Some(format!("cli-{}", Timestamp::now().unix())),
        ip_address: None,
        user_agent: Some("scaikey-cli".into()),
    }
}

fn invalid(what: &str, problem: shared::validation::Problem) -> Error {
    Error::internal(format!("{what}: {}", problem.msg))
}

/// Who owns a uniqueness marker.
async fn marker_owner(store: &Store, key: &keys::Key) -> Result<Option<String>, Error> {
    let item = store.get(key).await?;
    Ok(item.and_then(|i| i.get("owner_id").and_then(|v| v.as_s().ok()).cloned()))
}

/// The platform partner and tenant, created if missing through the same cores as the API.
/// Returns their ids and what was created.
pub async fn ensure_platform(
    state: &AppState,
) -> Result<(PartnerId, TenantId, Vec<String>), Error> {
    let store = state.store();
    if let Some(pin) = pinned_platform(store).await? {
        return Ok((pin.partner_id, pin.tenant_id, Vec::new()));
    }
    let mut created = Vec::new();
    let platform_name = Name::parse(&json!("Platform")).map_err(|p| invalid("name", p))?;
    let platform_slug = Slug::parse_str(PLATFORM_SLUG).map_err(|p| invalid("slug", p))?;
    let partner_id = match marker_owner(store, &keys::partner_slug(PLATFORM_SLUG)).await? {
        Some(id) => PartnerId::parse(&id).map_err(Error::internal)?,
        None => {
            let new = partners::operations::NewPartner {
                name: platform_name.clone(),
                slug: platform_slug.clone(),
                contact_email: Email::parse_str("platform@scaikey.local")
                    .map_err(|p| invalid("contact_email", p))?,
                status: Status::Active,
                limits: PartnerLimits::default(),
            };
            let partner = partners::operations::create_as(state, system(), new, &meta()).await?;
            created.push(format!("platform partner {}", partner.id));
            partner.id
        }
    };
    let tenant_id = match marker_owner(store, &keys::tenant_slug(PLATFORM_SLUG)).await? {
        Some(id) => TenantId::parse(&id).map_err(Error::internal)?,
        None => {
            let partner = store
                .load(&[keys::partner(&partner_id)])
                .await?
                .get::<Partner>(&keys::partner(&partner_id))?;
            let new = tenants::operations::NewTenant {
                partner_id: partner_id.clone(),
                name: platform_name,
                slug: platform_slug,
                status: Status::Active,
                contact_email: None,
                settings: Map::new(),
                branding: Map::new(),
            };
            let tenant =
                tenants::operations::create_as(state, system(), partner, new, &meta()).await?;
            created.push(format!("platform tenant {}", tenant.id));
            tenant.id
        }
    };
    // Pinned by id from now on: whatever later happens to the slugs, bootstrap finds this pair.
    let pin = Platform {
        partner_id,
        tenant_id,
    };
    let mut tx = store.tx();
    tx.put_new(pin.to_item()?, Guard::Item)?;
    match store.transact(tx).await {
        Ok(()) => {
            created.push("platform pin".into());
            Ok((pin.partner_id, pin.tenant_id, created))
        }
        // Another bootstrap pinned it first: that pair is the platform.
        Err(StoreError::Refused(Guard::Item)) => {
            let pin = pinned_platform(store)
                .await?
                .ok_or_else(|| Error::internal("the platform pin vanished"))?;
            Ok((pin.partner_id, pin.tenant_id, created))
        }
        Err(err) => Err(err.into()),
    }
}

async fn pinned_platform(store: &Store) -> Result<Option<Platform>, Error> {
    Ok(store
        .load(&[keys::platform()])
        .await?
        .get::<Platform>(&keys::platform())?)
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
    let email = Email::parse_str(&admin.email).map_err(|p| invalid("--email", p))?;
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
    let tenant: Tenant = live(loaded.get(&keys::tenant(&home))?, "Tenant")?;
    let scope_partner = match admin.role {
        AdminRole::PartnerAdmin => {
            let p = admin
                .partner_id
                .clone()
                .ok_or_else(|| Error::internal("a partner admin needs --partner-id"))?;
            let partner = store
                .load(&[keys::partner(&p)])
                .await?
                .get::<Partner>(&keys::partner(&p))?;
            live(partner, "Partner")?;
            if home != platform_tenant && tenant.partner_id != p {
                return Err(Error::internal(
                    "--tenant-id must be a tenant of --partner-id",
                ));
            }
            Some(p)
        }
        _ => None,
    };
    // The same policy as every password set through the API: the home tenant's.
    shared::password::Policy::of_settings(&tenant.settings)
        .check(&admin.password)
        .map_err(|p| invalid("--password", p))?;
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
        password_hash: Some(hash),
        admin_roles: vec![grant.clone()],
        ..User::new(
            UserId::generate(),
            home.clone(),
            email.as_str().to_owned(),
            now,
        )
    };
    let event = AuditEvent::new(system(), USER_CREATE, Some(user.id.to_string()), &meta())
        .in_tenant(&tenant.partner_id, &home);
    match create_admin_user(store, &user, &tenant, &grant, &event).await {
        Ok(()) => Ok(Some(user.id)),
        Err(err) if matches!(err.refused_by(), Some(Guard::Unique(_))) => Ok(None),
        Err(err) => Err(err.into()),
    }
}

/// The stored user, exactly as the users group stores one (its lists and search see it).
fn user_item(user: &User) -> Result<Item, StoreError> {
    users::store::user_item(user, None)
}

/// The admin-email claim, which also routes admin login to the user's tenant.
fn admin_email_item(user: &User, tenant: &Tenant) -> Result<Item, StoreError> {
    let owner = AdminEmailOwner {
        user_id: user.id.clone(),
        tenant_id: tenant.id.clone(),
        partner_id: tenant.partner_id.clone(),
    };
    Ok(with_keys(
        encode(&owner)?,
        &keys::admin_email(&user.email),
        AdminEmailOwner::NAME,
    ))
}

/// The full role grant, beside the summary the user item carries: the admin-roles group's
/// stored form, so bootstrap grants are listed, read and revoked like any other.
fn role_item(user: &User, tenant: &Tenant, grant: &RoleGrant) -> Result<Item, StoreError> {
    admin_roles::operations::grant_item(&admin_roles::operations::AdminRoleGrant {
        id: grant.id.clone(),
        user_id: user.id.clone(),
        role: grant.role,
        partner_id: grant.partner_id.clone(),
        tenant_id: grant.tenant_id.clone(),
        expires_at: grant.expires_at,
        is_active: grant.is_active,
        created_at: grant.created_at,
        created_by: grant.created_by.clone(),
        holder_tenant_id: tenant.id.clone(),
        holder_partner_id: tenant.partner_id.clone(),
        revoked_at: None,
        revoked_by: None,
    })
}

/// User, tenant email claim, admin email claim, role item, tenant `user_count` (tenant live),
/// users counter, audit.
async fn create_admin_user(
    store: &Store,
    user: &User,
    tenant: &Tenant,
    grant: &RoleGrant,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    let mut tx = store.tx();
    tx.put_new(user_item(user)?, Guard::Item)?;
    claim(
        &mut tx,
        &keys::user_email(&user.tenant_id, &user.email),
        user.id.as_str(),
        "email",
    )?;
    tx.put_new(
        admin_email_item(user, tenant)?,
        Guard::Unique("admin email"),
    )?;
    tx.put_new(role_item(user, tenant, grant)?, Guard::Item)?;
    tx.update_if(
        &keys::tenant(&tenant.id),
        "ADD user_count :one, version :one",
        Guard::Parent("tenant"),
        Some("attribute_exists(PK) AND #status = :active"),
        Expr::default()
            .name("#status", "status")
            .value(":one", n(1))
            .value(":active", s("ACTIVE")),
    )?;
    Counter::Users.add(&mut tx, 1)?;
    store.add_event(&mut tx, event)?;
    store.transact(tx).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::store::describe;
    use std::collections::BTreeMap;

    fn pinned(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// The stored forms are a contract with data already in tables: a renamed field or a
    /// changed type must fail here, not silently in production.
    #[test]
    fn an_admin_user_and_its_claims_are_pinned() {
        let at = Timestamp::parse("2026-01-02T03:04:05.000006Z").unwrap();
        let tenant_id = TenantId::parse("tnt_01kb2z8hqv3m4n5p6r7s8t9w0g").unwrap();
        let partner_id = PartnerId::parse("prt_01kb2z8hqv3m4n5p6r7s8t9w1g").unwrap();
        let grant = RoleGrant {
            id: RoleId::parse("rol_01kb2z8hqv3m4n5p6r7s8t9w2g").unwrap(),
            role: AdminRole::TenantAdmin,
            partner_id: None,
            tenant_id: Some(tenant_id.clone()),
            is_active: true,
            expires_at: None,
            created_at: at,
            created_by: Some("scaikey-cli".into()),
        };
        let user = User {
            first_name: Some("Ann".into()),
            password_hash: Some("$argon2id$x".into()),
            admin_roles: vec![grant.clone()],
            ..User::new(
                UserId::parse("usr_01kb2z8hqv3m4n5p6r7s8t9w3g").unwrap(),
                tenant_id.clone(),
                "ann@acme.test".into(),
                at,
            )
        };
        let tenant = Tenant {
            id: tenant_id,
            partner_id,
            name: "Acme".into(),
            slug: "acme".into(),
            status: Status::Active,
            contact_email: None,
            settings: Map::new(),
            branding: Map::new(),
            user_count: 0,
            created_at: at,
            updated_at: at,
            deleted_at: None,
            version: 1,
        };
        let grant_summary = "M:{created_at=S:2026-01-02T03:04:05.000006Z, created_by=S:scaikey-cli, id=S:rol_01kb2z8hqv3m4n5p6r7s8t9w2g, is_active=BOOL:true, role=S:tenant_admin, tenant_id=S:tnt_01kb2z8hqv3m4n5p6r7s8t9w0g}";
        let admin_roles = format!("L:[{grant_summary}]");
        assert_eq!(
            describe(&user_item(&user).unwrap()),
            pinned(&[
                ("GSI1PK", "S:TENANT#tnt_01kb2z8hqv3m4n5p6r7s8t9w0g#USERS"),
                ("GSI1SK", "S:usr_01kb2z8hqv3m4n5p6r7s8t9w3g"),
                ("GSI2PK", "S:USERS#0"),
                ("GSI2SK", "S:usr_01kb2z8hqv3m4n5p6r7s8t9w3g"),
                ("PK", "S:USER#usr_01kb2z8hqv3m4n5p6r7s8t9w3g"),
                ("SK", "S:USER"),
                ("admin_roles", &admin_roles),
                ("created_at", "S:2026-01-02T03:04:05.000006Z"),
                ("custom_attributes", "M:{}"),
                ("email", "S:ann@acme.test"),
                ("email_verified", "BOOL:false"),
                ("entity", "S:USER"),
                ("first_name", "S:Ann"),
                ("id", "S:usr_01kb2z8hqv3m4n5p6r7s8t9w3g"),
                ("identity_source", "S:LOCAL"),
                ("mfa_enabled", "BOOL:false"),
                ("password_hash", "S:$argon2id$x"),
                ("search_text", "S:ann@acme.test ann"),
                ("status", "S:ACTIVE"),
                ("tenant_id", "S:tnt_01kb2z8hqv3m4n5p6r7s8t9w0g"),
                ("updated_at", "S:2026-01-02T03:04:05.000006Z"),
                ("version", "N:1"),
            ])
        );
        assert_eq!(
            describe(&admin_email_item(&user, &tenant).unwrap()),
            pinned(&[
                ("PK", "S:UNIQUE#ADMIN_EMAIL#ann@acme.test"),
                ("SK", "S:UNIQUE"),
                ("entity", "S:ADMIN_EMAIL"),
                ("partner_id", "S:prt_01kb2z8hqv3m4n5p6r7s8t9w1g"),
                ("tenant_id", "S:tnt_01kb2z8hqv3m4n5p6r7s8t9w0g"),
                ("user_id", "S:usr_01kb2z8hqv3m4n5p6r7s8t9w3g"),
            ])
        );
        let role = describe(&role_item(&user, &tenant, &grant).unwrap());
        assert_eq!(
            role.get("PK").map(String::as_str),
            Some("S:ROLE#rol_01kb2z8hqv3m4n5p6r7s8t9w2g")
        );
        assert_eq!(role.get("SK").map(String::as_str), Some("S:ROLE"));
        assert_eq!(
            role.get("holder_partner_id").map(String::as_str),
            Some("S:prt_01kb2z8hqv3m4n5p6r7s8t9w1g")
        );
        assert_eq!(role.get("entity").map(String::as_str), Some("S:ADMIN_ROLE"));
        assert_eq!(
            role.get("user_id").map(String::as_str),
            Some("S:usr_01kb2z8hqv3m4n5p6r7s8t9w3g")
        );
        assert_eq!(role.get("role").map(String::as_str), Some("S:tenant_admin"));
    }
}
