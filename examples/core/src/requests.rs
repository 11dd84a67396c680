//! The JSON bodies clients send to `POST /accounts` and `PUT /accounts`, and what makes one usable.

use serde::Deserialize;

/// The part of a `POST /accounts` body that is used: the tutorial's clients send a whole account, of which only the
/// name matters (the store assigns the id).
#[derive(Debug, Deserialize)]
pub struct NewAccount {
    name: Option<String>,
}

impl NewAccount {
    /// The name to store.
    ///
    /// # Errors
    /// The message of the 400 answer when the name is missing or blank.
    pub fn into_name(self) -> Result<String, &'static str> {
        self.name
            .filter(|name| !name.trim().is_empty())
            .ok_or("POST body is missing required field: name")
    }
}

/// An account id in a JSON body: the tutorial writes it as a string, but a bare number is understood too.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum IdField {
    Text(String),
    Number(u64),
}

/// The part of a `PUT /accounts` body that is used.
#[derive(Debug, Deserialize)]
pub struct AccountUpdate {
    id: Option<IdField>,
    name: Option<String>,
}

impl AccountUpdate {
    /// The id of the account to rename (as written, not yet looked up) and its new name.
    ///
    /// # Errors
    /// The message of the 400 answer when the id (the tutorial's message) or the name is missing.
    pub fn into_parts(self) -> Result<(String, String), &'static str> {
        let id = match self.id {
            Some(IdField::Text(id)) if !id.is_empty() => id,
            Some(IdField::Number(id)) => id.to_string(),
            _ => return Err("PUT body is missing required field: ID"),
        };
        let name = self
            .name
            .filter(|name| !name.trim().is_empty())
            .ok_or("PUT body is missing required field: name")?;
        Ok((id, name))
    }
}

/// Whether a `Content-Type` names JSON: `application/json`, with any parameters (`; charset=utf-8`), in any case.
/// A value with anything but visible ASCII and tabs is not read at all.
pub fn is_json(content_type: &[u8]) -> bool {
    let visible = |byte: &u8| *byte == b'\t' || (b' '..=b'~').contains(byte);
    if !content_type.iter().all(visible) {
        return false;
    }
    let Ok(value) = std::str::from_utf8(content_type) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(json: &str) -> Result<(String, String), &'static str> {
        match serde_json::from_str::<AccountUpdate>(json) {
            Ok(update) => update.into_parts(),
            Err(_) => Err("not an update"),
        }
    }

    #[test]
    fn reads_what_the_tutorial_sends() {
        let new: Result<NewAccount, _> = serde_json::from_str(r#"{"id":"1","name":"Ada"}"#);
        assert_eq!(
            new.map(|new| new.into_name()).ok(),
            Some(Ok("Ada".to_owned()))
        );
        let blank: Result<NewAccount, _> = serde_json::from_str(r#"{"name":" "}"#);
        assert!(matches!(blank.map(NewAccount::into_name), Ok(Err(_))));
        assert_eq!(
            update(r#"{"id":"10001","name":"B"}"#),
            Ok(("10001".into(), "B".into()))
        );
        assert_eq!(
            update(r#"{"id":10001,"name":"B"}"#),
            Ok(("10001".into(), "B".into()))
        );
        assert_eq!(
            update(r#"{"name":"B"}"#),
            Err("PUT body is missing required field: ID")
        );
        assert_eq!(
            update(r#"{"id":""}"#),
            Err("PUT body is missing required field: ID")
        );
        assert_eq!(
            update(r#"{"id":"1"}"#),
            Err("PUT body is missing required field: name")
        );
    }

    #[test]
    fn recognises_json_media_types() {
        for ok in [
            "application/json",
            "Application/JSON",
            "application/json; charset=utf-8",
        ] {
            assert!(is_json(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "application/jsonx",
            "",
        ] {
            assert!(!is_json(bad.as_bytes()), "{bad}");
        }
        assert!(!is_json(b"application/json\xff"));
        assert!(!is_json("application/json; charset=\u{e9}".as_bytes()));
    }
}
