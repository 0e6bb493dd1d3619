-- One database per service: each service owns its data and is its only writer.
-- Run once by the postgres image on first start (docker-entrypoint-initdb.d).
CREATE DATABASE jalon_identity;
CREATE DATABASE jalon_dossiers;
CREATE DATABASE jalon_certification;
CREATE DATABASE jalon_payments;
CREATE DATABASE jalon_documents;
CREATE DATABASE jalon_notifications;
CREATE DATABASE jalon_integration;
