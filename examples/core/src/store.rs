//! The embedded account store: what the tutorial kept in BoltDB behind a separate data service.
//!
//! One `RwLock` around a `BTreeMap` is plenty for a demo service: reads (the load the tutorial generates) share the
//! lock, and the rare writes hold it for a few microseconds. A panic while the lock was held cannot leave the map
//! half-updated (every write is a single insert or field assignment), so a poisoned lock is recovered rather than
//! turned into a failure of every later request.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::clock;
use crate::model::{Account, AccountEvent, ImageData, Quote};
use crate::quotes;

/// The id of the first seeded account.
pub const FIRST_SEEDED_ID: u64 = 10_000;

/// How many accounts the store starts with (`10000`..=`10099`, named `Person_0`..=`Person_99`).
pub const SEEDED_ACCOUNTS: u64 = 100;

/// Upper bound on the number of accounts, so a client looping on `POST /accounts` cannot exhaust memory.
pub const MAX_ACCOUNTS: usize = 100_000;

/// Upper bound on the events kept per account; the oldest update is dropped first, `CREATED` is always kept.
pub const MAX_EVENTS: usize = 16;

/// Base URL of the account pictures (the tutorial's image service; a documentation domain here).
const IMAGE_BASE_URL: &str = "https://images.example.org/accounts";

/// When the seeded accounts were created: 2018-01-01T00:00:00Z, the year of the tutorial, plus a step per account.
const DATA_EPOCH: u64 = 1_514_764_800;

/// One stored account: what the store owns, before the serving address is filled in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The account id.
    pub id: u64,
    /// The account holder's name.
    pub name: String,
    /// What happened to the account, oldest first.
    pub events: Vec<AccountEvent>,
    /// The id the next event of this account gets.
    next_event_id: u64,
}

impl Record {
    fn new(id: u64, name: String, created: String) -> Record {
        let created = AccountEvent {
            id: "1".to_owned(),
            event_name: "CREATED".to_owned(),
            created,
        };
        Record {
            id,
            name,
            events: vec![created],
            next_event_id: 2,
        }
    }

    /// The account as the REST routes answer it, served by `served_by`.
    pub fn to_account(&self, served_by: &str) -> Account {
        Account {
            id: self.id.to_string(),
            name: self.name.clone(),
            served_by: served_by.to_owned(),
            quote: self.quote(None, served_by),
            image_data: self.image_data(served_by),
            account_events: self.events.clone(),
        }
    }

    /// The account's quote in `language` (English when absent or unknown).
    pub fn quote(&self, language: Option<&str>, served_by: &str) -> Quote {
        let (language, text) = quotes::quote_for(self.id, language);
        Quote {
            quote: text.to_owned(),
            l: served_by.to_owned(),
            language: language.to_owned(),
        }
    }

    /// Where the account's picture lives.
    pub fn image_data(&self, served_by: &str) -> ImageData {
        ImageData {
            id: self.id.to_string(),
            url: format!("{IMAGE_BASE_URL}/{}.png", self.id),
            served_by: served_by.to_owned(),
        }
    }

    fn push_event(&mut self, event_name: &str) {
        if self.events.len() >= MAX_EVENTS {
            // Index 0 is the CREATED event, which tells when the account began: keep it.
            self.events.remove(1);
        }
        self.events.push(AccountEvent {
            id: self.next_event_id.to_string(),
            event_name: event_name.to_owned(),
            created: clock::now(),
        });
        self.next_event_id += 1;
    }
}

/// What an account id from a URL or a request body refers to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// The account exists.
    Found(Record),
    /// A well-formed id with no account behind it, including decimal ids too large for any account.
    Unknown,
    /// Not a decimal number: the client sent something that can never be an id.
    Invalid,
}

/// The store refused a new account because it holds [`MAX_ACCOUNTS`] already.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreFull;

impl fmt::Display for StoreFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the account store is full ({MAX_ACCOUNTS} accounts)")
    }
}

impl std::error::Error for StoreFull {}

/// The accounts, in memory, shared by all connections.
#[derive(Debug)]
pub struct Store {
    accounts: RwLock<BTreeMap<u64, Record>>,
}

impl Store {
    /// A store holding the tutorial's 100 accounts, `10000`..=`10099` named `Person_0`..=`Person_99`.
    ///
    /// The content is deterministic (creation times included), so two instances answer alike.
    pub fn seeded() -> Store {
        let accounts = (0..SEEDED_ACCOUNTS)
            .map(|n| {
                let id = FIRST_SEEDED_ID + n;
                // Spread the creation times over the year, 3 days and 7 minutes apart.
                let created = clock::format_unix(DATA_EPOCH + n * (3 * 86_400 + 7 * 60));
                (id, Record::new(id, format!("Person_{n}"), created))
            })
            .collect();
        Store {
            accounts: RwLock::new(accounts),
        }
    }

    /// An empty store; ids start at [`FIRST_SEEDED_ID`].
    pub fn empty() -> Store {
        Store {
            accounts: RwLock::new(BTreeMap::new()),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, BTreeMap<u64, Record>> {
        self.accounts.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, BTreeMap<u64, Record>> {
        self.accounts
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// How many accounts the store holds.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether the store holds no account.
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    /// Every account, by id.
    pub fn all(&self) -> Vec<Record> {
        self.read().values().cloned().collect()
    }

    /// The account with this numeric id.
    pub fn get(&self, id: u64) -> Option<Record> {
        self.read().get(&id).cloned()
    }

    /// Resolves an id as written by a client (`"10001"`).
    ///
    /// Only ASCII digits form an id: signs, spaces and `0x` prefixes are [`Lookup::Invalid`], so each account has
    /// exactly one spelling (leading zeros aside). A decimal number too large for `u64` cannot name an account and
    /// is [`Lookup::Unknown`], the same answer as any other id that is not in the store.
    pub fn lookup(&self, raw: &str) -> Lookup {
        if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return Lookup::Invalid;
        }
        match raw.parse::<u64>().ok().and_then(|id| self.get(id)) {
            Some(record) => Lookup::Found(record),
            None => Lookup::Unknown,
        }
    }

    /// The first account (lowest id) with exactly this name.
    pub fn find_by_name(&self, name: &str) -> Option<Record> {
        self.read()
            .values()
            .find(|record| record.name == name)
            .cloned()
    }

    /// Stores a new account named `name` under the next free id and returns it.
    pub fn create(&self, name: String) -> Result<Record, StoreFull> {
        let mut accounts = self.write();
        if accounts.len() >= MAX_ACCOUNTS {
            return Err(StoreFull);
        }
        let id = match accounts.last_key_value() {
            Some((last, _)) => last.checked_add(1).ok_or(StoreFull)?,
            None => FIRST_SEEDED_ID,
        };
        let record = Record::new(id, name, clock::now());
        accounts.insert(id, record.clone());
        Ok(record)
    }

    /// Renames account `id`, records an `UPDATED` event and returns the account; `None` if there is no such account.
    pub fn rename(&self, id: u64, name: String) -> Option<Record> {
        let mut accounts = self.write();
        let record = accounts.get_mut(&id)?;
        record.name = name;
        record.push_event("UPDATED");
        Some(record.clone())
    }
}

impl Default for Store {
    /// The seeded store, as the service starts.
    fn default() -> Store {
        Store::seeded()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_the_hundred_accounts() {
        let store = Store::seeded();
        assert_eq!(store.len(), 100);
        let first = store.get(10_000).map(|r| r.name);
        let last = store.get(10_099).map(|r| r.name);
        assert_eq!(first.as_deref(), Some("Person_0"));
        assert_eq!(last.as_deref(), Some("Person_99"));
        assert_eq!(store.get(10_100), None);
    }

    #[test]
    fn seeded_content_is_deterministic() {
        assert_eq!(Store::seeded().get(10_042), Store::seeded().get(10_042));
        let account = Store::seeded().get(10_001).map(|r| r.to_account("h:1"));
        let Some(account) = account else {
            unreachable!("account 10001 is seeded")
        };
        assert_eq!(account.account_events[0].created, "2018-01-04T00:07:00");
        assert_eq!(account.quote.l, "h:1");
        assert_eq!(
            account.image_data.url,
            "https://images.example.org/accounts/10001.png"
        );
    }

    #[test]
    fn lookup_tells_invalid_from_unknown() {
        let store = Store::seeded();
        assert!(matches!(store.lookup("10001"), Lookup::Found(r) if r.name == "Person_1"));
        assert_eq!(store.lookup("99"), Lookup::Unknown);
        assert_eq!(store.lookup("99999999999999999999999999"), Lookup::Unknown);
        for bad in ["", "abc", "-1", "+10001", " 10001", "0x10", "１"] {
            assert_eq!(store.lookup(bad), Lookup::Invalid, "{bad:?}");
        }
    }

    #[test]
    fn create_assigns_the_next_id() {
        let store = Store::seeded();
        let created = store.create("New".to_owned()).map(|r| r.id);
        assert_eq!(created, Ok(10_100));
        assert_eq!(
            Store::empty().create("A".to_owned()).map(|r| r.id),
            Ok(FIRST_SEEDED_ID)
        );
    }

    #[test]
    fn rename_records_an_event_and_bounds_them() {
        let store = Store::seeded();
        for round in 0..40 {
            let renamed = store.rename(10_005, format!("Name {round}"));
            assert!(renamed.is_some());
        }
        let Some(record) = store.get(10_005) else {
            unreachable!("account 10005 is seeded")
        };
        assert_eq!(record.name, "Name 39");
        assert_eq!(record.events.len(), MAX_EVENTS);
        assert_eq!(record.events[0].event_name, "CREATED");
        assert_eq!(record.events.last().map(|e| e.id.as_str()), Some("41"));
        assert_eq!(store.rename(1, "x".to_owned()), None);
    }
}
