//! The `users` and `provider_profiles` tables.

use chrono::{DateTime, Utc};
use kintara_api::{AccountState, Language, ProviderType, Role, UpdateMeRequest, User};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;
use uuid::Uuid;

use crate::db::{get_bool, get_enum, get_opt_ts, get_ts, get_uuid, ts};

#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub password_hash: String,
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
    pub provider_type: Option<ProviderType>,
    pub is_anonymous: bool,
    pub biometric_enabled: bool,
    pub account_state: AccountState,
    pub last_login: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub language: Language,
    pub whatsapp_number: Option<String>,
}

pub(crate) const COLUMNS: &str =
    "id, email, password_hash, first_name, last_name, role, provider_type, \
    is_anonymous, biometric_enabled, account_state, last_login, created_at, updated_at, \
    language, whatsapp_number";

pub(crate) fn from_row(row: &AnyRow) -> Result<UserRow, sqlx::Error> {
    use sqlx::Row;
    let ptype: Option<String> = row.try_get("provider_type")?;
    Ok(UserRow {
        id: get_uuid(row, "id")?,
        email: row.try_get("email")?,
        password_hash: row.try_get("password_hash")?,
        first_name: row.try_get("first_name")?,
        last_name: row.try_get("last_name")?,
        role: get_enum(row, "role", Role::parse)?,
        provider_type: ptype.as_deref().and_then(ProviderType::parse),
        is_anonymous: get_bool(row, "is_anonymous")?,
        biometric_enabled: get_bool(row, "biometric_enabled")?,
        account_state: get_enum(row, "account_state", AccountState::parse)?,
        last_login: get_opt_ts(row, "last_login")?,
        created_at: get_ts(row, "created_at")?,
        updated_at: get_ts(row, "updated_at")?,
        // A code a later version wrote and this one does not speak: English.
        language: Language::parse(&row.try_get::<String, _>("language")?).unwrap_or_default(),
        whatsapp_number: row.try_get("whatsapp_number")?,
    })
}

impl UserRow {
    pub fn to_api(&self) -> User {
        User {
            id: self.id,
            email: self.email.clone(),
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            full_name: format!("{} {}", self.first_name, self.last_name)
                .trim()
                .to_owned(),
            role: self.role,
            role_display: self.role.label().to_owned(),
            provider_type: self.provider_type,
            provider_type_display: self.provider_type.map(|p| p.label().to_owned()),
            is_anonymous: self.is_anonymous,
            biometric_enabled: self.biometric_enabled,
            is_active: self.account_state.may_sign_in(),
            account_state: self.account_state,
            last_login: self.last_login,
            created_at: self.created_at,
            updated_at: self.updated_at,
            language: self.language,
            whatsapp_number: self.whatsapp_number.clone(),
        }
    }
}

/// E-mail addresses are compared case-insensitively and without surrounding blanks.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

pub async fn find_by_email(
    conn: &mut AnyConnection,
    email: &str,
) -> Result<Option<UserRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE email = $1");
    let row = sqlx::query(&sql)
        .bind(normalize_email(email))
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn find_by_id(
    conn: &mut AnyConnection,
    id: Uuid,
) -> Result<Option<UserRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
    let row = sqlx::query(&sql)
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub struct NewUser {
    pub email: String,
    pub password_hash: String,
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
    pub provider_type: Option<ProviderType>,
    pub is_anonymous: bool,
    /// `Unverified` for a provider who registered themselves; `Active` for anyone an admin (or
    /// `--demo`) vouches for.
    pub state: AccountState,
}

/// Inserts a user (and a provider profile for providers). Fails with a unique violation when the
/// e-mail is taken.
pub async fn insert(conn: &mut AnyConnection, new: NewUser) -> Result<UserRow, sqlx::Error> {
    let id = Uuid::new_v4();
    let now = ts(Utc::now());
    sqlx::query(
        "INSERT INTO users (id, email, password_hash, first_name, last_name, role, provider_type, \
         is_anonymous, account_state, verified_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
    )
    .bind(id.to_string())
    .bind(normalize_email(&new.email))
    .bind(new.password_hash)
    .bind(new.first_name)
    .bind(new.last_name)
    .bind(new.role.as_str())
    .bind(new.provider_type.map(|p| p.as_str()))
    .bind(new.is_anonymous as i64)
    .bind(new.state.as_str())
    .bind((new.role == Role::Provider && new.state == AccountState::Active).then(|| now.clone()))
    .bind(&now)
    .execute(&mut *conn)
    .await?;
    if new.role == Role::Provider {
        sqlx::query("INSERT INTO provider_profiles (user_id) VALUES ($1)")
            .bind(id.to_string())
            .execute(&mut *conn)
            .await?;
    }
    Ok(find_by_id(conn, id)
        .await?
        .expect("the row was just inserted"))
}

pub async fn record_login(conn: &mut AnyConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET last_login = $2 WHERE id = $1")
        .bind(id.to_string())
        .bind(ts(Utc::now()))
        .execute(conn)
        .await?;
    Ok(())
}

/// Changes what `req` names (a validated request); an empty WhatsApp number removes it.
pub async fn update_profile(
    conn: &mut AnyConnection,
    id: Uuid,
    req: &UpdateMeRequest,
) -> Result<(), sqlx::Error> {
    let number = req.whatsapp_number.as_deref();
    sqlx::query(
        "UPDATE users SET first_name = COALESCE($2, first_name), \
         last_name = COALESCE($3, last_name), language = COALESCE($4, language), \
         whatsapp_number = CASE WHEN $5 = 1 THEN $6 ELSE whatsapp_number END, \
         updated_at = $7 WHERE id = $1",
    )
    .bind(id.to_string())
    .bind(req.first_name.as_deref().map(str::trim))
    .bind(req.last_name.as_deref().map(str::trim))
    .bind(req.language.map(|l| l.as_str()))
    .bind(number.is_some() as i64)
    .bind(number.filter(|n| !n.is_empty()))
    .bind(ts(Utc::now()))
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_password(
    conn: &mut AnyConnection,
    id: Uuid,
    password_hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1")
        .bind(id.to_string())
        .bind(password_hash)
        .bind(ts(Utc::now()))
        .execute(conn)
        .await?;
    Ok(())
}

/// Moves an account to `to` if it is in one of `from`; returns whether it moved. Verifying
/// stamps `verified_at`, so a reinstated provider returns to where they were.
pub async fn set_state(
    conn: &mut AnyConnection,
    id: Uuid,
    from: &[AccountState],
    to: AccountState,
    verifying: bool,
) -> Result<bool, sqlx::Error> {
    let allowed: Vec<String> = from.iter().map(|s| format!("'{}'", s.as_str())).collect();
    let sql = format!(
        "UPDATE users SET account_state = $2, updated_at = $3, \
         verified_at = CASE WHEN $4 = 1 THEN $3 ELSE verified_at END \
         WHERE id = $1 AND account_state IN ({})",
        allowed.join(", ")
    );
    let done = sqlx::query(&sql)
        .bind(id.to_string())
        .bind(to.as_str())
        .bind(ts(Utc::now()))
        .bind(verifying as i64)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Whether an admin ever verified this account.
pub async fn was_verified(conn: &mut AnyConnection, id: Uuid) -> Result<bool, sqlx::Error> {
    use sqlx::Row;
    let row = sqlx::query("SELECT verified_at FROM users WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    Ok(match row {
        Some(r) => r.try_get::<Option<String>, _>("verified_at")?.is_some(),
        None => false,
    })
}
