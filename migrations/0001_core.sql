-- The core model: narratives (with aliases), their sightings, and the rebuttals of them.
-- Text caps live here as well as in the API schemas, so that no path around the API can store
-- what the API would refuse.

-- created_at defaults to clock_timestamp(), not now(): rows written in one transaction (a batch)
-- still get distinct, ordered times, which the newest-first lists rely on.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE narratives (
    id          uuid        NOT NULL DEFAULT gen_random_uuid(),
    slug        text        NOT NULL,
    title       text        NOT NULL,
    summary     text        NOT NULL DEFAULT '',
    keywords    text[]      NOT NULL DEFAULT '{}',
    tags        text[]      NOT NULL DEFAULT '{}',
    parent_id   uuid,
    status      text        NOT NULL DEFAULT 'active',
    created_by  text,
    updated_by  text,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT narratives_pkey PRIMARY KEY (id),
    CONSTRAINT narratives_slug_key UNIQUE (slug),
    CONSTRAINT narratives_slug_format CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 100),
    CONSTRAINT narratives_title_length CHECK (length(title) BETWEEN 1 AND 200),
    CONSTRAINT narratives_summary_length CHECK (length(summary) <= 5000),
    CONSTRAINT narratives_status_valid CHECK (status IN ('active', 'dormant', 'archived')),
    CONSTRAINT narratives_parent_fkey FOREIGN KEY (parent_id) REFERENCES narratives (id),
    CONSTRAINT narratives_parent_not_self CHECK (parent_id <> id)
);

-- Lists page newest first: (created_at, id) is the keyset.
CREATE INDEX narratives_created_idx ON narratives (created_at DESC, id DESC);
CREATE INDEX narratives_updated_idx ON narratives (updated_at);
CREATE INDEX narratives_parent_idx ON narratives (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX narratives_tags_idx ON narratives USING gin (tags);
CREATE INDEX narratives_title_trgm_idx ON narratives USING gin (title gin_trgm_ops);

CREATE TABLE narrative_aliases (
    narrative_id uuid NOT NULL,
    position     integer NOT NULL,
    text         text NOT NULL,
    language     text NOT NULL,
    CONSTRAINT narrative_aliases_pkey PRIMARY KEY (narrative_id, position),
    CONSTRAINT narrative_aliases_narrative_fkey FOREIGN KEY (narrative_id)
        REFERENCES narratives (id) ON DELETE CASCADE,
    CONSTRAINT narrative_aliases_text_length CHECK (length(text) BETWEEN 1 AND 300),
    CONSTRAINT narrative_aliases_language_format CHECK (language ~ '^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$')
);

CREATE INDEX narrative_aliases_text_trgm_idx ON narrative_aliases USING gin (text gin_trgm_ops);

CREATE TABLE sightings (
    id             uuid        NOT NULL DEFAULT gen_random_uuid(),
    narrative_id   uuid        NOT NULL,
    observed_at    timestamptz NOT NULL,
    url            text,
    url_normalized text,
    source_name    text        NOT NULL,
    source_kind    text        NOT NULL,
    actor_name     text,
    actor_role     text,
    quote          text,
    language       text        NOT NULL,
    country        text,
    external_id    text,
    confidence     real,
    status         text        NOT NULL DEFAULT 'unreviewed',
    reported_by    text        NOT NULL DEFAULT 'anonymous',
    updated_by     text,
    created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT sightings_pkey PRIMARY KEY (id),
    CONSTRAINT sightings_narrative_fkey FOREIGN KEY (narrative_id) REFERENCES narratives (id),
    CONSTRAINT sightings_url_length CHECK (length(url) <= 2048),
    CONSTRAINT sightings_url_pair CHECK ((url IS NULL) = (url_normalized IS NULL)),
    CONSTRAINT sightings_source_kind_valid
        CHECK (source_kind IN ('outlet', 'channel', 'account', 'official', 'other')),
    CONSTRAINT sightings_source_name_length CHECK (length(source_name) BETWEEN 1 AND 200),
    CONSTRAINT sightings_actor_length CHECK (length(actor_name) <= 200 AND length(actor_role) <= 200),
    CONSTRAINT sightings_quote_length CHECK (length(quote) <= 10000),
    CONSTRAINT sightings_language_format CHECK (language ~ '^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$'),
    CONSTRAINT sightings_country_format CHECK (country ~ '^[A-Z]{2}$'),
    CONSTRAINT sightings_external_id_length CHECK (length(external_id) BETWEEN 1 AND 200),
    CONSTRAINT sightings_confidence_range CHECK (confidence BETWEEN 0 AND 1),
    CONSTRAINT sightings_status_valid CHECK (status IN ('unreviewed', 'confirmed', 'false_positive'))
);

-- A sighting's identity: one narrative at one normalised URL, or one monitor's own id.
CREATE UNIQUE INDEX sightings_narrative_url_key ON sightings (narrative_id, url_normalized)
    WHERE url_normalized IS NOT NULL;
CREATE UNIQUE INDEX sightings_reporter_external_id_key ON sightings (reported_by, external_id)
    WHERE external_id IS NOT NULL;

CREATE INDEX sightings_observed_idx ON sightings (observed_at DESC, id DESC);
CREATE INDEX sightings_narrative_observed_idx ON sightings (narrative_id, observed_at DESC, id DESC);
CREATE INDEX sightings_url_idx ON sightings (url_normalized) WHERE url_normalized IS NOT NULL;
CREATE INDEX sightings_source_idx ON sightings (lower(source_name), observed_at DESC);
CREATE INDEX sightings_actor_idx ON sightings (lower(actor_name), observed_at DESC)
    WHERE actor_name IS NOT NULL;

CREATE TABLE rebuttals (
    id                  uuid        NOT NULL DEFAULT gen_random_uuid(),
    issuer_name         text        NOT NULL,
    issuer_role         text,
    issuer_organization text,
    issuer_country      text,
    issuer_kind         text        NOT NULL,
    verdict             text        NOT NULL,
    statement           text        NOT NULL,
    url                 text        NOT NULL,
    url_normalized      text        NOT NULL,
    published_at        timestamptz NOT NULL,
    language            text        NOT NULL,
    reported_by         text        NOT NULL DEFAULT 'anonymous',
    updated_by          text,
    created_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT rebuttals_pkey PRIMARY KEY (id),
    CONSTRAINT rebuttals_issuer_kind_valid CHECK (issuer_kind IN
        ('government', 'intelligence', 'parliament', 'international_org', 'fact_checker', 'media', 'other')),
    CONSTRAINT rebuttals_verdict_valid
        CHECK (verdict IN ('false', 'misleading', 'unsupported', 'disputed', 'undermined')),
    CONSTRAINT rebuttals_issuer_length CHECK (
        length(issuer_name) BETWEEN 1 AND 200 AND length(issuer_role) <= 200
        AND length(issuer_organization) <= 200),
    CONSTRAINT rebuttals_issuer_country_format CHECK (issuer_country ~ '^[A-Z]{2}$'),
    CONSTRAINT rebuttals_statement_length CHECK (length(statement) BETWEEN 1 AND 20000),
    CONSTRAINT rebuttals_url_length CHECK (length(url) BETWEEN 1 AND 2048),
    CONSTRAINT rebuttals_language_format CHECK (language ~ '^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$')
);

CREATE INDEX rebuttals_published_idx ON rebuttals (published_at DESC, id DESC);
CREATE INDEX rebuttals_issuer_idx ON rebuttals (lower(issuer_name));

-- The link carries published_at so that "a narrative's rebuttals, newest first" is one index scan.
CREATE TABLE rebuttal_narratives (
    rebuttal_id  uuid        NOT NULL,
    narrative_id uuid        NOT NULL,
    published_at timestamptz NOT NULL,
    CONSTRAINT rebuttal_narratives_pkey PRIMARY KEY (rebuttal_id, narrative_id),
    CONSTRAINT rebuttal_narratives_rebuttal_fkey FOREIGN KEY (rebuttal_id)
        REFERENCES rebuttals (id) ON DELETE CASCADE,
    CONSTRAINT rebuttal_narratives_narrative_fkey FOREIGN KEY (narrative_id)
        REFERENCES narratives (id)
);

CREATE INDEX rebuttal_narratives_narrative_idx
    ON rebuttal_narratives (narrative_id, published_at DESC, rebuttal_id DESC);
