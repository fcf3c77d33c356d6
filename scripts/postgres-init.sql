-- Temporal keeps its own two databases beside the platform's (docker-compose.yml).
CREATE DATABASE temporal;
CREATE DATABASE temporal_visibility;
