//! Every key of the single table, built in one place. See `docs/data-model.md`.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::ids::{
    ApplicationId, GroupId, KeyId, PartnerId, RegistrationRequestId, SessionId, TenantId, UserId,
};

pub const PK: &str = "PK";
pub const SK: &str = "SK";
pub const GSI1: &str = "GSI1";
pub const GSI1PK: &str = "GSI1PK";
pub const GSI1SK: &str = "GSI1SK";
pub const GSI2: &str = "GSI2";
pub const GSI2PK: &str = "GSI2PK";
pub const GSI2SK: &str = "GSI2SK";
/// The platform-wide audit index: events by shard (`AUDIT#<0..15>`).
pub const GSI3: &str = "GSI3";
pub const GSI3PK: &str = "GSI3PK";
pub const GSI3SK: &str = "GSI3SK";
pub const TTL: &str = "ttl";

/// A table key (partition and sort key).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self {
            pk: pk.into(),
            sk: sk.into(),
        }
    }

    pub fn to_item(&self) -> HashMap<String, AttributeValue> {
        HashMap::from([
            (PK.to_owned(), AttributeValue::S(self.pk.clone())),
            (SK.to_owned(), AttributeValue::S(self.sk.clone())),
        ])
    }

    pub fn of_item(item: &HashMap<String, AttributeValue>) -> Option<Self> {
        let pk = item.get(PK)?.as_s().ok()?;
        let sk = item.get(SK)?.as_s().ok()?;
        Some(Self::new(pk.clone(), sk.clone()))
    }
}

// ---- entities (one partition per entity, so a read by id is one GetItem / batch key) ---------

pub fn partner(id: &PartnerId) -> Key {
    Key::new(format!("PARTNER#{id}"), "PARTNER")
}

pub fn tenant(id: &TenantId) -> Key {
    Key::new(format!("TENANT#{id}"), "TENANT")
}

pub fn user(id: &UserId) -> Key {
    Key::new(format!("USER#{id}"), "USER")
}

/// One admin-role grant, in a partition of its own: `GET`/`DELETE /admin-roles/{role_id}` know
/// only the role id, so the item must be addressable by it alone (one batch key).
pub fn admin_role(role: &crate::ids::RoleId) -> Key {
    Key::new(format!("ROLE#{role}"), "ROLE")
}

pub fn session(id: &SessionId) -> Key {
    Key::new(format!("SESSION#{id}"), "SESSION")
}

pub fn event(id: &crate::ids::EventId) -> Key {
    Key::new(format!("EVENT#{id}"), "EVENT")
}

/// The partition of an email's admin login attempt counters (per source address
/// `IP#<addr>#WINDOW#<n>` and for the email `EMAIL#WINDOW#<n>`, fixed 15-minute windows:
/// `shared::throttle`): one Query finds them all (`scaikey admin unlock`).
pub fn login_partition(email: &str) -> String {
    format!("LOGIN#{email}")
}

/// The partition of a tenant user's sign-in attempt counters (the hosted login), apart from
/// the admin login's and from other tenants' (the same email in two tenants is two people).
pub fn sign_in_partition(tenant: &TenantId, email: &str) -> String {
    format!("SIGNIN#{tenant}#{email}")
}

/// The partition of an email's attempts at the platform's login (which tries the email in
/// every tenant holding it): counted apart from each tenant's own.
pub fn platform_sign_in_partition(email: &str) -> String {
    format!("SIGNIN#PLATFORM#{email}")
}

// ---- configuration kept in the table ---------------------------------------------------------

pub const CONFIG_PARTITION: &str = "CONFIG";

pub fn signing_key(kid: &KeyId) -> Key {
    Key::new(CONFIG_PARTITION, format!("SIGNING_KEY#{kid}"))
}

/// Signing keys' private parts, sealed (`crate::sealing`), in a partition of their own so that
/// IAM can grant it to the functions that sign and to no other: every function reads `CONFIG`.
pub const SIGNING_KEYS_PRIVATE_PARTITION: &str = "SIGNING_KEYS_PRIVATE";

pub fn sealed_signing_key(kid: &KeyId) -> Key {
    Key::new(SIGNING_KEYS_PRIVATE_PARTITION, format!("KEY#{kid}"))
}

/// The mark of a revoked signing key, in `CONFIG` (written only by the CLI): every session
/// check reads the mark of its token's key in its batch, so a revocation stops the key's
/// tokens on their next request, whatever the instances' key caches still hold.
pub fn key_revocation(kid: &KeyId) -> Key {
    Key::new(CONFIG_PARTITION, format!("KEY_REVOKED#{kid}"))
}

/// The key a revocation mark ([`key_revocation`]) names.
pub fn revoked_key_of(mark: &Key) -> Option<KeyId> {
    mark.sk
        .strip_prefix("KEY_REVOKED#")
        .and_then(|kid| KeyId::parse(kid).ok())
}

/// The ids of the built-in platform partner and tenant.
pub fn platform() -> Key {
    Key::new(CONFIG_PARTITION, "PLATFORM")
}

/// The key that signs pagination cursors (and nothing else): every function reads it.
pub fn cursor_key() -> Key {
    Key::new(CONFIG_PARTITION, "CURSOR_KEY")
}

/// The plaintext server secret of versions before the credentials key: it signed cursors and
/// keyed refresh tokens and client-secret hashes. `scaikey keys seal` (or bootstrap) seals what
/// client secrets need of it into the credentials key and deletes it; until then it still signs
/// cursors.
pub fn cursor_secret() -> Key {
    Key::new(CONFIG_PARTITION, "CURSOR_SECRET")
}

/// The credentials key, sealed (`crate::credentials`), in a partition of its own so that IAM
/// can grant it only to the functions that issue or check refresh tokens, codes and cookies.
pub const CREDENTIALS_KEY_PARTITION: &str = "CREDENTIALS_KEY";

pub fn credentials_key() -> Key {
    Key::new(CREDENTIALS_KEY_PARTITION, "KEY")
}

/// The client-secret key, sealed (`crate::credentials`), in a partition of its own: the
/// functions that make or check client secrets read it, and only those.
pub const CLIENT_SECRET_KEY_PARTITION: &str = "CLIENT_SECRET_KEY";

pub fn client_secret_key() -> Key {
    Key::new(CLIENT_SECRET_KEY_PARTITION, "KEY")
}

// ---- uniqueness markers ----------------------------------------------------------------------

pub fn partner_slug(slug: &str) -> Key {
    Key::new(format!("UNIQUE#PARTNER_SLUG#{slug}"), "UNIQUE")
}

pub fn tenant_slug(slug: &str) -> Key {
    Key::new(format!("UNIQUE#TENANT_SLUG#{slug}"), "UNIQUE")
}

pub fn user_email(tenant: &TenantId, email: &str) -> Key {
    Key::new(format!("UNIQUE#USER_EMAIL#{tenant}#{email}"), "UNIQUE")
}

/// An email may hold admin roles in one tenant only; this marker also routes admin login.
pub fn admin_email(email: &str) -> Key {
    Key::new(format!("UNIQUE#ADMIN_EMAIL#{email}"), "UNIQUE")
}

// ---- index partitions (lists, newest first: sort keys are time-ordered ids) ------------------

pub const ALL_PARTNERS: &str = "PARTNERS";
pub const ALL_TENANTS: &str = "TENANTS";

/// The GSI1 partition of an email's claims in every tenant (`GSI1SK`: the tenant): where the
/// platform's sign-in finds the tenants an email signs in to (`super::emails`).
pub fn tenants_of_email(email: &str) -> String {
    format!("EMAIL#{email}#TENANTS")
}

pub fn tenants_of_partner(partner: &PartnerId) -> String {
    format!("PARTNER#{partner}#TENANTS")
}

pub fn users_of_tenant(tenant: &TenantId) -> String {
    format!("TENANT#{tenant}#USERS")
}

pub fn sessions_of_user(user: &UserId) -> String {
    format!("USER#{user}#SESSIONS")
}

pub fn audit_of_tenant(tenant: &TenantId) -> String {
    format!("TENANT#{tenant}#AUDIT")
}

pub fn audit_of_partner(partner: &PartnerId) -> String {
    format!("PARTNER#{partner}#AUDIT")
}

/// Events are spread over this many GSI3 partitions, so no index partition takes every write
/// of the platform (one partition accepts about 1,000 writes a second: 16 shards, ≈ 16,000).
pub const AUDIT_SHARDS: u64 = 16;

/// One shard of the platform-wide audit index (GSI3).
pub fn audit_shard(shard: u64) -> String {
    format!("AUDIT#{shard}")
}

/// The GSI3 partition of an event: a shard its id picks.
pub fn audit_shard_of(event: &crate::ids::EventId) -> String {
    audit_shard(fnv1a(event.as_str()) % AUDIT_SHARDS)
}

/// Every admin-role grant (GSI2), and those held by users of one tenant (GSI1; a partner's
/// are its tenants' as they are now, merged).
pub const ALL_ADMIN_ROLES: &str = "ADMIN_ROLES";

pub fn admin_roles_of_tenant(tenant: &TenantId) -> String {
    format!("TENANT#{tenant}#ADMIN_ROLES")
}

/// How many partitions the platform-wide user list is spread over (GSI2 `USERS#<n>`): user
/// writes in every tenant would otherwise all land on one index partition (a hot key).
pub const USER_SHARDS: u64 = 8;

/// The platform-wide user list shard a user is filed under: a stable hash of its id, so a
/// rewrite of the item keeps it in the same shard.
/// FNV-1a: stable across builds and platforms (unlike std's randomly keyed hasher).
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

pub fn users_shard_of(user: &UserId) -> String {
    users_shard(fnv1a(user.as_str()) % USER_SHARDS)
}

pub fn users_shard(shard: u64) -> String {
    format!("USERS#{shard}")
}

// ---- applications (`functions/applications`) -------------------------------------------------

pub fn application(id: &ApplicationId) -> Key {
    Key::new(format!("APP#{id}"), "APP")
}

/// An application's assignment to one user or group (`usr_…` / `grp_…`): at most one per
/// assignee. In a partition of its own, beside the application's: IAM (which sees partition
/// keys only) lets the applications function delete an assignment and never the application
/// item, which is only ever soft-deleted.
pub fn app_assignment(app: &ApplicationId, assignee: &str) -> Key {
    Key::new(assignments_of_app(app), format!("ASSIGNEE#{assignee}"))
}

/// The partition of an application's assignments.
pub fn assignments_of_app(app: &ApplicationId) -> String {
    format!("ASSIGNMENTS#{app}")
}

/// Where versions before it kept an application's assignments: in the application's own
/// partition (`scaikey upgrade` moves them).
pub fn legacy_app_assignment(app: &ApplicationId, assignee: &str) -> Key {
    Key::new(format!("APP#{app}"), format!("ASSIGNEE#{assignee}"))
}

/// GSI1 partition of the assignments of one user or group: the applications it is assigned to.
pub fn apps_of_assignee(assignee: &str) -> String {
    format!("ASSIGNEE#{assignee}#APPS")
}

/// GSI1 partitions of applications, by owner.
pub const GLOBAL_APPS: &str = "APPS#GLOBAL";

pub fn apps_of_partner(partner: &PartnerId) -> String {
    format!("PARTNER#{partner}#APPS")
}

pub fn apps_of_tenant(tenant: &TenantId) -> String {
    format!("TENANT#{tenant}#APPS")
}

/// GSI2 partition of every live application.
pub const ALL_APPS: &str = "APPS";

/// Live applications owned by a tenant (its limit is a condition on it), a partner, the platform.
pub fn app_count_of_tenant(tenant: &TenantId) -> Key {
    Key::new(format!("COUNTER#APPS#TENANT#{tenant}"), "COUNT")
}

pub fn app_count_of_partner(partner: &PartnerId) -> Key {
    Key::new(format!("COUNTER#APPS#PARTNER#{partner}"), "COUNT")
}

pub fn app_count_global() -> Key {
    Key::new("COUNTER#APPS#GLOBAL", "COUNT")
}

// ---- registration requests (`functions/registration-requests`) -------------------------------

pub fn registration_request(id: &RegistrationRequestId) -> Key {
    Key::new(format!("RRQ#{id}"), "RRQ")
}

/// GSI1 partitions of registration requests, by the owner of the application asked for.
pub const GLOBAL_RRQS: &str = "RRQS#GLOBAL";

pub fn rrqs_of_partner(partner: &PartnerId) -> String {
    format!("PARTNER#{partner}#RRQS")
}

pub fn rrqs_of_tenant(tenant: &TenantId) -> String {
    format!("TENANT#{tenant}#RRQS")
}

/// GSI2 partition of every request.
pub const ALL_RRQS: &str = "RRQS";

// ---- groups (`functions/groups`, `shared::membership`) ----------------------------------------

pub fn group(id: &GroupId) -> Key {
    Key::new(format!("GROUP#{id}"), "GROUP")
}

/// One direct member (`usr_…` or `grp_…`) of a group, in the group's partition.
pub fn group_member(group: &GroupId, member: &str) -> Key {
    Key::new(format!("GROUP#{group}"), format!("MEMBER#{member}"))
}

/// A group name, unique per tenant case-insensitively (`name` lower-cased).
pub fn group_name(tenant: &TenantId, name: &str) -> Key {
    Key::new(format!("UNIQUE#GROUP_NAME#{tenant}#{name}"), "UNIQUE")
}

/// The tenant's nesting version: every group-into-group addition in the tenant moves it under
/// `Guard::Item`, so concurrent nestings in one tenant serialise and none can close a cycle.
pub fn group_nesting(tenant: &TenantId) -> Key {
    // A partition of its own: IAM lets the groups function update it without reaching the
    // tenant item (`GROUP_NESTING#*`, not `TENANT#*`).
    Key::new(format!("GROUP_NESTING#{tenant}"), "VERSION")
}

/// Live groups of a tenant (`group_count` of the tenant).
pub fn group_count_of_tenant(tenant: &TenantId) -> Key {
    Key::new(format!("COUNTER#GROUPS#{tenant}"), "COUNT")
}

/// One shard of the platform-wide group total.
pub fn group_count_shard(shard: u64) -> Key {
    Key::new("COUNTER#GROUPS", format!("SHARD#{shard}"))
}

/// Every group (GSI2 of the group items).
pub const ALL_GROUPS: &str = "GROUPS";

pub fn groups_of_tenant(tenant: &TenantId) -> String {
    format!("TENANT#{tenant}#GROUPS")
}

/// The groups a user is a direct member of (GSI1 of its membership items).
pub fn groups_of_user(user: &UserId) -> String {
    format!("USER#{user}#GROUPS")
}

// ---- identity providers (`functions/identity-providers`) -------------------------------------

pub fn identity_provider(id: &crate::ids::IdentityProviderId) -> Key {
    Key::new(format!("IDP#{id}"), "IDP")
}

/// An email domain routed to one identity provider of a tenant (`domain` lower-cased): at most
/// one per tenant.
pub fn idp_domain(tenant: &TenantId, domain: &str) -> Key {
    Key::new(format!("UNIQUE#IDP_DOMAIN#{tenant}#{domain}"), "UNIQUE")
}

/// Live identity providers of a tenant.
pub fn idp_count_of_tenant(tenant: &TenantId) -> Key {
    Key::new(format!("COUNTER#IDPS#{tenant}"), "COUNT")
}

/// One shard of the platform-wide identity provider total.
pub fn idp_count_shard(shard: u64) -> Key {
    Key::new("COUNTER#IDPS", format!("SHARD#{shard}"))
}

/// Every live identity provider (GSI2 of the identity provider items).
pub const ALL_IDPS: &str = "IDPS";

pub fn idps_of_tenant(tenant: &TenantId) -> String {
    format!("TENANT#{tenant}#IDPS")
}

// ---- sessions (`functions/sessions`; the items are admin-auth's) ------------------------------

/// The sessions of the users of one tenant (GSI2 of the session items: a session's tenant is
/// its holder's home tenant).
pub fn sessions_of_tenant(tenant: &TenantId) -> String {
    format!("TENANT#{tenant}#SESSIONS")
}

/// How many GSI3 partitions every session is spread over (`SESSIONS#<n>`): the platform-wide
/// list merges them, and no index partition takes every login of the platform.
pub const SESSION_SHARDS: u64 = 8;

pub fn sessions_shard(shard: u64) -> String {
    format!("SESSIONS#{shard}")
}

/// The GSI3 partition of a session: a stable hash of its id.
pub fn sessions_shard_of(session: &SessionId) -> String {
    sessions_shard(fnv1a(session.as_str()) % SESSION_SHARDS)
}

// ---- agents (`functions/agents`; the token endpoint in `functions/oauth` reads them) --------

pub fn agent(id: &crate::ids::AgentId) -> Key {
    Key::new(format!("AGENT#{id}"), "AGENT")
}

/// The token requests of an agent in one minute (`minute` = unix seconds ÷ 60): its
/// `rate_limit_rpm`, enforced with one conditional `ADD` per request; expires by TTL. In a
/// partition of its own, not the agent's: IAM (which sees only partition keys) lets the token
/// endpoint write `count` and `ttl` here without letting it set a TTL on the agent item.
pub fn agent_rate(id: &crate::ids::AgentId, minute: i64) -> Key {
    Key::new(format!("AGENT_RATE#{id}"), format!("MINUTE#{minute}"))
}

/// Live agents of a tenant.
pub fn agent_count_of_tenant(tenant: &TenantId) -> Key {
    Key::new(format!("COUNTER#AGENTS#{tenant}"), "COUNT")
}

/// One shard of the platform-wide agent total.
pub fn agent_count_shard(shard: u64) -> Key {
    Key::new("COUNTER#AGENTS", format!("SHARD#{shard}"))
}

/// Every live agent (GSI2 of the agent items).
pub const ALL_AGENTS: &str = "AGENTS";

pub fn agents_of_tenant(tenant: &TenantId) -> String {
    format!("TENANT#{tenant}#AGENTS")
}
