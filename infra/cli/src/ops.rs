//! Operations the CLI performs: it calls the same cores as the API (partner, tenant and user
//! creation, role grants), acting as the `scaikey-cli` system actor.

use data_encoding::BASE64URL_NOPAD;
use serde_json::{Map, json};
use shared::access::AdminRole;
use shared::audit::{Actor, AuditAction, RequestMeta};
use shared::hierarchy::{PLATFORM_SLUG, Partner, PartnerLimits, Platform, Tenant, User};
use shared::ids::{PartnerId, TenantId, UserId};
use shared::lifecycle::{Lifecycle, live};
use shared::sealing::Kek;
use shared::store::{Entity, Guard, Store, StoreError, keys};
use shared::time::Timestamp;
use shared::values::{Email, Name, Slug, Status};
use shared::{AppState, Error};

/// What the CLI itself records (its admins are recorded by the users and admin-roles cores it
/// calls, as `user.create` and `admin_role.grant` by the `scaikey-cli` system actor): its part of the audit catalogue.
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

/// The key-encryption key the CLI seals private keys with (`SCAIKEY_KMS_KEY_ID`, or locally
/// `SCAIKEY_LOCAL_KEK_FILE`).
fn kek(state: &AppState) -> Result<&Kek, Error> {
    state.kek().ok_or_else(|| {
        Error::internal(
            "signing keys are sealed under a key-encryption key: set SCAIKEY_KMS_KEY_ID (a KMS \
             key id, ARN or alias), or SCAIKEY_LOCAL_KEK_FILE next to a local DynamoDB",
        )
    })
}

/// The credentials, client-secret and cursor keys, if missing (`scaikey keys seal`, after
/// upgrading from a version that kept one plaintext server secret for cursors, refresh tokens
/// and client-secret hashes: `shared::credentials::ensure`).
pub async fn seal_credentials(state: &AppState) -> Result<Vec<String>, Error> {
    shared::credentials::ensure(state.store(), kek(state)?).await
}

/// What a deployed stack needs after an upgrade to this version, each step idempotent (`scaikey
/// upgrade`, right after the deploy): the server secrets sealed ([`seal_credentials`]), and
/// application assignments moved out of their application's partition into their own
/// ([`move_assignments`]). Returns what it did.
pub async fn upgrade(state: &AppState) -> Result<Vec<String>, Error> {
    let mut done = seal_credentials(state).await?;
    let moved = move_assignments(state.store()).await?;
    if moved > 0 {
        done.push(format!(
            "{moved} application assignments moved to their own partition"
        ));
    }
    let indexed = index_email_claims(state.store()).await?;
    if indexed > 0 {
        done.push(format!(
            "{indexed} user email claims listed under their email (the platform sign-in)"
        ));
    }
    Ok(done)
}

/// Lists every user email claim an earlier version wrote under its email's index partition
/// (`shared::store::emails`), so the platform's sign-in finds it. A Scan of the table for
/// claims without the index keys — an operation, run once after the upgrade, never on a
/// request path — then per claim a put that keeps it as it is (same owner) plus the keys.
/// Safe to run again. Returns how many it listed.
pub async fn index_email_claims(store: &shared::store::Store) -> Result<usize, Error> {
    use shared::store::{Expr, Guard, StoreError, emails, s};
    let mut indexed = 0;
    let mut start = None;
    loop {
        let page = store
            .client()
            .scan()
            .table_name(store.table())
            .filter_expression("begins_with(PK, :claims) AND attribute_not_exists(GSI1PK)")
            .expression_attribute_values(":claims", s("UNIQUE#USER_EMAIL#"))
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(|e| Error::internal(format!("scanning the email claims: {e}")))?;
        for item in page.items() {
            let (Some(claim), Some(owner)) = (emails::unindexed(item), item.get("owner_id")) else {
                continue;
            };
            let mut tx = store.tx();
            tx.put_if(
                claim,
                Guard::Item,
                Some("owner_id = :owner"),
                Expr::default().value(":owner", owner.clone()),
            )?;
            match store.transact(tx).await {
                Ok(()) => indexed += 1,
                // Moved or purged since the scan read it: its successor is indexed already.
                Err(StoreError::Refused(Guard::Item)) => {}
                Err(err) => return Err(err.into()),
            }
        }
        match page.last_evaluated_key {
            Some(last) => start = Some(last),
            None => break,
        }
    }
    Ok(indexed)
}

/// Moves every assignment an earlier version kept in its application's partition (`APP#<app>` /
/// `ASSIGNEE#…`) to the assignments partition (`ASSIGNMENTS#<app>`): for each application (the
/// GSI2 `APPS` list, all pages), one Query of its partition, then per assignment one
/// transaction that puts it at its new key (if not there yet) and deletes the old. Safe to run
/// again; an operation, never on a request path. Returns how many it moved.
pub async fn move_assignments(store: &shared::store::Store) -> Result<usize, Error> {
    use shared::ids::ApplicationId;
    use shared::store::{Guard, Key, QuerySpec, StoreError};
    let apps = QuerySpec {
        index: Some(keys::GSI2),
        partition: (keys::GSI2PK, keys::ALL_APPS.to_owned()),
        equals: Vec::new(),
        contains: None,
        compare: Vec::new(),
    };
    let mut moved = 0;
    let mut start = None;
    loop {
        let page = store.query(&apps, start, 1_000).await?;
        for app in &page.items {
            let Some(id) = app
                .get("id")
                .and_then(|v| v.as_s().ok())
                .and_then(|id| ApplicationId::parse(id).ok())
            else {
                continue;
            };
            let own = QuerySpec {
                index: None,
                partition: (keys::PK, keys::application(&id).pk),
                equals: Vec::new(),
                contains: None,
                compare: Vec::new(),
            };
            let mut inner = None;
            loop {
                let items = store.query(&own, inner, 1_000).await?;
                for item in &items.items {
                    let Some(old) = Key::of_item(item).filter(|k| k.sk.starts_with("ASSIGNEE#"))
                    else {
                        continue;
                    };
                    let new = Key::new(keys::assignments_of_app(&id), old.sk.clone());
                    let mut copy = item.clone();
                    copy.extend(new.to_item());
                    let mut tx = store.tx();
                    tx.put_new(copy, Guard::Item)?;
                    tx.delete(&old)?;
                    match store.transact(tx).await {
                        Ok(()) => moved += 1,
                        // Moved by an earlier, interrupted run: only the old one is left.
                        Err(StoreError::Refused(Guard::Item)) => {
                            let mut tx = store.tx();
                            tx.delete(&old)?;
                            store.transact(tx).await?;
                        }
                        Err(err) => return Err(err.into()),
                    }
                }
                match items.last_key {
                    Some(last) => inner = Some(last),
                    None => break,
                }
            }
        }
        match page.last_key {
            Some(last) => start = Some(last),
            None => break,
        }
    }
    Ok(moved)
}

/// Makes the credentials and client-secret keys anew under this key-encryption key, on purpose
/// (`scaikey keys remake-credentials`): after switching to a key-encryption key that cannot open
/// the old ones. Refresh tokens end; every client secret must be rotated.
pub async fn remake_credentials(state: &AppState) -> Result<Vec<String>, Error> {
    shared::credentials::remake(state.store(), kek(state)?).await
}

/// Seals the private keys an earlier version stored in plaintext (`scaikey keys seal`):
/// each in one transaction that writes the sealed part and removes the plaintext. Returns the
/// key ids sealed.
pub async fn seal_plaintext_keys(state: &AppState) -> Result<Vec<String>, Error> {
    let (records, _) = state.store().find_signing_material().await?;
    let mut sealed = Vec::new();
    for record in records {
        let Some(text) = &record.plaintext_private_key else {
            continue;
        };
        let pkcs8 = BASE64URL_NOPAD
            .decode(text.as_bytes())
            .map_err(|_| Error::internal(format!("signing key {}: unreadable", record.kid)))?;
        let part = shared::tokens::seal_private_key(kek(state)?, &record.kid, &pkcs8).await?;
        match state
            .store()
            .seal_plaintext_signing_key(&record.kid, &part)
            .await
        {
            Ok(()) => sealed.push(record.kid.to_string()),
            // Another run sealed it first.
            Err(StoreError::Refused(Guard::Item)) => {}
            Err(err) => return Err(err.into()),
        }
    }
    Ok(sealed)
}

/// A signing key and the cursor secret, if there are none yet; keys stored in plaintext by an
/// earlier version are sealed first. A signing key counts only if its private part is sealed
/// under this KEK: otherwise a new one is made, in the deployment's algorithm
/// (`SCAIKEY_SIGNING_ALGORITHM`). A key that signs in another algorithm is kept (switching
/// algorithm is `scaikey keys rotate`, so its tokens keep verifying): a warning says so.
pub async fn ensure_keys(state: &AppState) -> Result<Vec<String>, Error> {
    let store = state.store();
    let mut created: Vec<String> = seal_plaintext_keys(state)
        .await?
        .into_iter()
        .map(|kid| format!("signing key {kid} sealed"))
        .collect();
    let kek = kek(state)?;
    // The server secrets first: one that does not open under this KEK stops the run before
    // anything else is made (bootstrap is then re-run with the right key, or after
    // `keys remake-credentials`).
    let secrets = shared::credentials::ensure(store, kek).await?;
    let (records, _) = store.find_signing_material().await?;
    let sealed = store.find_sealed_signing_keys().await?;
    let algorithm = state.config().signing_algorithm;
    let mut signs = Vec::new();
    for record in records
        .iter()
        .filter(|r| r.retired_at.is_none() && r.revoked_at.is_none())
    {
        if let Some(part) = sealed.iter().find(|s| s.kid == record.kid)
            && shared::tokens::opens(kek, record, part).await
        {
            signs.push(record.alg);
        }
    }
    if !signs.is_empty() && !signs.contains(&algorithm) {
        tracing::warn!(
            configured = %algorithm,
            signing = %signs[0],
            "the signing key's algorithm is not SCAIKEY_SIGNING_ALGORITHM: run `scaikey keys rotate` to switch"
        );
    }
    if signs.is_empty() {
        let (record, part) = shared::tokens::generate_signing_key(kek, algorithm).await?;
        store.add_signing_key(&record, &part, &[], &[], 0).await?;
        created.push(format!("signing key {}", record.kid));
    }
    created.extend(secrets);
    state.keys().reload().await?;
    Ok(created)
}

/// Rotates the signing key: a new key in the deployment's algorithm
/// (`SCAIKEY_SIGNING_ALGORITHM`; rotating is how a deployment switches between RS256 and
/// ES256) is published (JWKS) at once and signs only after
/// `tokens::KEY_PUBLISH_DELAY` — once every instance's key cache can have seen it, so no
/// verifier meets a token signed by a key it does not know yet. The old keys sign until then
/// and stay published until no token they signed can be live. Returns the key and when it
/// starts signing.
pub async fn rotate_keys(state: &AppState) -> Result<(String, Timestamp), Error> {
    rotate_keys_after(state, shared::tokens::KEY_PUBLISH_DELAY).await
}

/// [`rotate_keys`] with another publication delay (tests).
pub async fn rotate_keys_after(
    state: &AppState,
    delay: std::time::Duration,
) -> Result<(String, Timestamp), Error> {
    let store = state.store();
    let kek = kek(state)?;
    let (records, _) = store.find_signing_material().await?;
    let sealed = store.find_sealed_signing_keys().await?;
    let replaced: Vec<_> = records
        .into_iter()
        .filter(|r| r.retired_at.is_none() && r.revoked_at.is_none())
        .collect();
    let replaced_sealed: Vec<_> = sealed
        .iter()
        .filter(|s| replaced.iter().any(|r| r.kid == s.kid))
        .map(|s| s.kid.clone())
        .collect();
    let (mut record, part) =
        shared::tokens::generate_signing_key(kek, state.config().signing_algorithm).await?;
    let signs_from = Timestamp::now().plus(delay);
    record.signs_from = Some(signs_from);
    store
        .add_signing_key(
            &record,
            &part,
            &replaced,
            &replaced_sealed,
            publish_seconds(state),
        )
        .await?;
    state.keys().reload().await?;
    Ok((record.kid.to_string(), signs_from))
}

/// How long a retired key stays published: the longest an access token it signed lives.
fn publish_seconds(state: &AppState) -> u64 {
    state.config().access_token_ttl.as_secs() + shared::tokens::LEEWAY_SECONDS
}

/// Revokes a signing key at once (`scaikey keys revoke`): tokens it signed are refused on
/// their next request (the session check reads its revocation mark) and it leaves every
/// instance's keys at their next reload. When no other key signs now, a new key signs at once
/// (instances still holding only the revoked one pick it up within 5 minutes; tokens they sign
/// meanwhile are refused, and their users sign in again).
pub async fn revoke_key(state: &AppState, kid: &str) -> Result<Vec<String>, Error> {
    let store = state.store();
    let (records, _) = store.find_signing_material().await?;
    let Some(record) = records.iter().find(|r| r.kid.as_str() == kid) else {
        return Err(Error::internal(format!("no signing key {kid}")));
    };
    let mut done = Vec::new();
    if record.revoked_at.is_some() {
        done.push(format!("signing key {kid} was already revoked"));
    } else {
        store.revoke_signing_key(record).await?;
        done.push(format!("signing key {kid} revoked"));
    }
    let now = Timestamp::now();
    let others_sign = records
        .iter()
        .any(|r| r.kid.as_str() != kid && r.signs_at(now));
    if !others_sign {
        let (fresh, part) =
            shared::tokens::generate_signing_key(kek(state)?, state.config().signing_algorithm)
                .await?;
        store.add_signing_key(&fresh, &part, &[], &[], 0).await?;
        done.push(format!("new signing key {} signs now", fresh.kid));
    }
    state.keys().reload().await?;
    Ok(done)
}

/// Lifts the login throttling of an email: deletes its attempt counters (every address, every
/// window; one partition, one Query). Returns how many there were.
pub async fn unlock_login(state: &AppState, email: &str) -> Result<usize, Error> {
    let email = Email::parse_str(email)
        .map(|e| e.as_str().to_owned())
        .unwrap_or_else(|_| email.trim().to_lowercase());
    let store = state.store();
    let spec = shared::store::QuerySpec {
        index: None,
        partition: (keys::PK, keys::login_partition(&email)),
        equals: Vec::new(),
        contains: None,
        compare: Vec::new(),
    };
    let mut cleared = 0;
    let mut start = None;
    loop {
        let page = store.query(&spec, start, 1_000).await?;
        let found: Vec<shared::store::Key> = page
            .items
            .iter()
            .filter_map(shared::store::Key::of_item)
            .collect();
        for chunk in found.chunks(100) {
            let mut tx = store.tx();
            for key in chunk {
                tx.delete(key)?;
            }
            store.transact(tx).await?;
        }
        cleared += found.len();
        match page.last_key {
            Some(last) => start = Some(last),
            None => return Ok(cleared),
        }
    }
}

pub struct NewAdmin {
    pub email: String,
    pub password: String,
    pub role: AdminRole,
    pub partner_id: Option<PartnerId>,
    pub tenant_id: Option<TenantId>,
}

/// A CLI error naming the option at fault: a refused value (the tenant's password policy, a
/// taken email) as the message the API would give.
fn refused(what: &str, err: Error) -> Error {
    match err {
        Error::Validation(problems) => Error::internal(format!(
            "{what}: {}",
            problems
                .iter()
                .map(|p| p.msg.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        )),
        Error::Conflict(msg) => Error::internal(format!("{what}: {msg}")),
        other => other,
    }
}

/// Creates a user holding one admin role: "create a user, then grant a role" through the same
/// cores as the API (`users::operations::create_as`, then `admin_roles::operations::grant_as`),
/// as the `scaikey-cli` system actor. A super admin lives in the platform tenant; a partner
/// admin in `tenant_id` (a tenant of its partner) or the platform tenant; a tenant admin in its
/// tenant. Returns the user id, or `None` if the email already holds admin roles (this one's
/// or any other: nothing is written).
///
/// Two transactions, not one: if the grant fails after the user was created, the error says
/// so, and running the same command again finishes the job — it finds the user by its email
/// in that tenant and, if the password given matches its own, grants it the role. A user of
/// that email whose password differs is refused (the CLI does not take over accounts).
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
            // Checked before the user is created, so a wrong partner writes nothing (the grant
            // checks both again).
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
    // Already an admin (this run's earlier success, or another tenant's admin): nothing to do
    // here, and nothing written.
    if marker_exists(store, &keys::admin_email(email.as_str())).await? {
        return Ok(None);
    }
    let (user_id, created) = match existing_user(store, &home, &email).await? {
        Some(user) => {
            let password = admin.password.clone();
            let hash = user.password_hash.clone().unwrap_or_default();
            let same =
                tokio::task::spawn_blocking(move || shared::password::verify(&password, &hash))
                    .await
                    .map_err(Error::internal)?;
            if user.is_deleted() || !same {
                return Err(Error::internal(format!(
                    "--email: a user with this email already exists in tenant {home} ({}); \
                     grant it a role through the API instead",
                    user.id
                )));
            }
            (user.id, false)
        }
        None => {
            let user = users::operations::create_as(
                state,
                system(),
                &new_user(&home, &email, &admin),
                &meta(),
            )
            .await
            .map_err(|err| match err {
                Error::Validation(_) => refused("--password", err),
                other => refused("--email", other),
            })?;
            (user.id, true)
        }
    };
    let grant = admin_roles::operations::NewGrant {
        user_id: user_id.clone(),
        role: admin.role,
        partner_id: scope_partner,
        tenant_id: (admin.role == AdminRole::TenantAdmin).then(|| home.clone()),
        expires_at: None,
    };
    match admin_roles::operations::grant_as(state, system(), &grant, &meta()).await {
        Ok(_) => Ok(Some(user_id)),
        // Another run made the same user this admin meanwhile: done.
        Err(Error::Conflict(msg)) if msg == admin_roles::operations::ALREADY_HELD => Ok(None),
        Err(err) => Err(Error::internal(format!(
            "user {user_id} {} in tenant {home}, but granting it {} failed ({err}); run the same \
             command again to grant it",
            if created { "was created" } else { "exists" },
            admin.role.as_str()
        ))),
    }
}

/// Whether a uniqueness marker exists.
async fn marker_exists(store: &Store, key: &keys::Key) -> Result<bool, Error> {
    Ok(store.get(key).await?.is_some())
}

/// The user holding `email` in `tenant` (live or soft-deleted), through its email claim.
async fn existing_user(
    store: &Store,
    tenant: &TenantId,
    email: &Email,
) -> Result<Option<User>, Error> {
    let Some(owner) = marker_owner(store, &keys::user_email(tenant, email.as_str())).await? else {
        return Ok(None);
    };
    let id = UserId::parse(&owner).map_err(Error::internal)?;
    Ok(store
        .load(&[keys::user(&id)])
        .await?
        .get(&keys::user(&id))?)
}

/// The admin's user as the API's Create User would take it: active, local, with its password.
fn new_user(tenant: &TenantId, email: &Email, admin: &NewAdmin) -> users::operations::NewUser {
    users::operations::NewUser::local(tenant.clone(), email.clone(), admin.password.clone())
}
