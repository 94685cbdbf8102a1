-- PostgreSQL schema of the climate-health pipeline (managed by the project: the
-- process_locations job applies it on every run; every statement is idempotent).
-- Natural keys are primary keys, so loads are upserts (INSERT ... ON CONFLICT) and a
-- re-run can never duplicate a row. The (location_id, date) primary-key index also serves
-- lookups by location_id (its leading column); a separate index serves lookups by date.
-- CHECK constraints repeat the pipeline's validation rules: a row that slipped past them
-- fails the whole load transaction instead of landing in the table.
-- Keep it plain DDL: statements end with ';', comments start with '--'.

CREATE TABLE IF NOT EXISTS locations (
    location_id  text PRIMARY KEY,
    name         text NOT NULL,
    type         text NOT NULL,
    population   integer NOT NULL CHECK (population >= 0),
    area         double precision NOT NULL CHECK (area > 0),
    source_file  text,
    source_line  bigint,
    loaded_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS climate_data (
    location_id           text NOT NULL REFERENCES locations (location_id),
    date                  date NOT NULL,
    temperature           double precision NOT NULL,
    precipitation         double precision,
    humidity              double precision,
    flood_probability     double precision CHECK (flood_probability BETWEEN 0 AND 1),
    drought_probability   double precision CHECK (drought_probability BETWEEN 0 AND 1),
    heatwave_probability  double precision CHECK (heatwave_probability BETWEEN 0 AND 1),
    source_file           text,
    source_line           bigint,
    loaded_at             timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (location_id, date)
);
CREATE INDEX IF NOT EXISTS climate_data_date_idx ON climate_data (date);

CREATE TABLE IF NOT EXISTS health_data (
    location_id         text NOT NULL REFERENCES locations (location_id),
    date                date NOT NULL,
    respiratory_cases   integer NOT NULL CHECK (respiratory_cases >= 0),
    heat_related_cases  integer NOT NULL CHECK (heat_related_cases >= 0),
    waterborne_cases    integer NOT NULL CHECK (waterborne_cases >= 0),
    vector_borne_cases  integer NOT NULL CHECK (vector_borne_cases >= 0),
    source_file         text,
    source_line         bigint,
    loaded_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (location_id, date)
);
CREATE INDEX IF NOT EXISTS health_data_date_idx ON health_data (date);

CREATE TABLE IF NOT EXISTS hospital_data (
    location_id     text NOT NULL REFERENCES locations (location_id),
    date            date NOT NULL,
    total_beds      integer NOT NULL CHECK (total_beds >= 0),
    available_beds  integer NOT NULL CHECK (available_beds >= 0),
    icu_beds        integer NOT NULL CHECK (icu_beds >= 0),
    staff_count     integer NOT NULL CHECK (staff_count >= 0),
    source_file     text,
    source_line     bigint,
    loaded_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (location_id, date),
    CHECK (available_beds <= total_beds)
);
CREATE INDEX IF NOT EXISTS hospital_data_date_idx ON hospital_data (date);
