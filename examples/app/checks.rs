//! What the app accepts as usernames, passwords and roles, from routes and from `add-admin`.

use super::error::ApiError;

/// 3 to 32 of `[a-z0-9_]`.
pub fn username(username: &str) -> Result<(), ApiError> {
    let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_';
    if (3..=32).contains(&username.len()) && username.bytes().all(allowed) {
        Ok(())
    } else {
        Err(ApiError::Invalid(
            "invalid_username",
            "A username is 3 to 32 of a-z, 0-9 and _.",
        ))
    }
}

/// At least 8 characters; at most 1024, which is plenty and bounds the hashing work.
pub fn password(password: &str) -> Result<(), ApiError> {
    if (8..=1024).contains(&password.chars().count()) {
        Ok(())
    } else {
        Err(ApiError::Invalid(
            "invalid_password",
            "A password has 8 to 1024 characters.",
        ))
    }
}

/// At most 16 roles, each 1 to 32 of `[a-z0-9_:-]` (so none holds the space that separates
/// them in the database); duplicates are dropped, the order kept.
pub fn roles(roles: Vec<String>) -> Result<Vec<String>, ApiError> {
    let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_:-".contains(&b);
    let valid = |role: &String| (1..=32).contains(&role.len()) && role.bytes().all(allowed);
    if roles.len() > 16 || !roles.iter().all(valid) {
        return Err(ApiError::Invalid(
            "invalid_roles",
            "Roles are at most 16 names, each 1 to 32 of a-z, 0-9, _, : and -.",
        ));
    }
    let mut unique = Vec::with_capacity(roles.len());
    for role in roles {
        if !unique.contains(&role) {
            unique.push(role);
        }
    }
    Ok(unique)
}
