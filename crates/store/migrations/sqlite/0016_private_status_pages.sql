-- Private status pages: who may read a page ('public', 'password' or 'members' of its team),
-- and for a password page the argon2id hash of its password (NULL otherwise). The page's
-- feeds, badge, JSON and history follow the same rule.
ALTER TABLE status_pages ADD COLUMN visibility TEXT NOT NULL DEFAULT 'public';
ALTER TABLE status_pages ADD COLUMN password_hash TEXT;
