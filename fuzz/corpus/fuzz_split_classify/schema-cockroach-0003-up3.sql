-- Step 3: an inverted index for containment queries on the profile.
CREATE INVERTED INDEX IF NOT EXISTS users_profile_idx ON users (profile);
