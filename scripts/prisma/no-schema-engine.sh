#!/bin/sh
# Stands in for Prisma's native schema engine, which cannot be downloaded here. Commands that do not run
# the engine (generate, validate, format) work; any that does fails with this clear line.
echo "the native schema engine is not available offline; migrations are applied by scripts/db/prepare.ts" >&2
exit 1
