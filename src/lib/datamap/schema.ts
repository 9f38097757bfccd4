/**
 * JSON Schema of the data map (draft 2020-12 subset that Ajv checks). Defaults are filled in by
 * Ajv (`useDefaults`), so every later module sees one complete shape.
 */
const accountString = {
  type: 'string',
  minLength: 1,
  description: 'a blob endpoint URL (https://<account>.blob.core.windows.net) or a storage connection string',
}

const storeProperties = {
  name: {type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$'},
  account: accountString,
  container: {type: 'string', minLength: 1},
  prefix: {type: 'string'},
  resourceId: {
    type: 'string',
    pattern: String.raw`^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Storage/storageAccounts/[^/]+$`,
  },
  /** `audit posture` requires encryption with a Key Vault key (customer-managed key) on this account */
  requireCustomerManagedKey: {type: 'boolean'},
}

/**
 * A `databases[]` entry (`engine: postgresql`; field names as in PRODUCT.md). Which fields an
 * isolation needs (tenantColumn and tables for shared, a `{customer}` schema or database template)
 * is checked in load.ts, so that each problem names its field in one line.
 */
const databaseProperties = {
  name: storeProperties.name,
  engine: {enum: ['postgresql']},
  host: {type: 'string', pattern: '^[A-Za-z0-9.:_-]+$'},
  port: {type: 'integer', minimum: 1, maximum: 65_535, default: 5432},
  database: {type: 'string', minLength: 1},
  resourceId: {
    type: 'string',
    pattern: String.raw`^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.DBforPostgreSQL/flexibleServers/[^/]+$`,
  },
  auth: {enum: ['entra', 'password']},
  user: {type: 'string', minLength: 1},
  passwordEnv: {type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$'},
  ca: {type: 'string', minLength: 1},
  isolation: {enum: ['shared', 'schema', 'database']},
  tenantColumn: {type: 'string', minLength: 1},
  tables: {
    type: 'array',
    minItems: 1,
    items: {
      anyOf: [
        {type: 'string', minLength: 1},
        {
          type: 'object',
          additionalProperties: false,
          required: ['table', 'via'],
          properties: {
            table: {type: 'string', minLength: 1},
            via: {
              type: 'object',
              additionalProperties: false,
              required: ['column', 'references'],
              properties: {column: {type: 'string', minLength: 1}, references: {type: 'string', minLength: 1}},
            },
          },
        },
      ],
    },
  },
  schema: {type: 'string', minLength: 1},
  /** `backups verify`: what the server's own backups must keep (needs resourceId) */
  expect: {$ref: '#/$defs/backupExpectation'},
  /** `backups verify`: the server must encrypt (and so back up) with a Key Vault key */
  requireCustomerManagedKey: {type: 'boolean'},
  /** `audit posture`: Entra authentication on and password authentication off */
  requireEntraOnly: {type: 'boolean'},
}

/**
 * A `databases[]` entry with `engine: table` (Azure Table storage). Which of partitionKey and
 * rowKeyPrefix it needs (exactly one, unless the table is per customer) is checked in load.ts.
 */
const tableDatabaseProperties = {
  name: storeProperties.name,
  engine: {const: 'table'},
  account: {
    type: 'string',
    minLength: 1,
    description: 'a table endpoint URL (https://<account>.table.core.windows.net) or a storage connection string',
  },
  table: {type: 'string', minLength: 1},
  partitionKey: {type: 'string', minLength: 1},
  rowKeyPrefix: {type: 'string', minLength: 1},
}

const duration = {type: 'string', pattern: String.raw`^[0-9]+(\.[0-9]+)?(ms|s|m|h|d|w)$`}

export const dataMapSchema = {
  $id: 'https://custos.invalid/datamap.schema.json',
  $defs: {
    backupExpectation: {
      type: 'object',
      additionalProperties: false,
      required: ['every', 'maxAge', 'keepDays'],
      properties: {every: duration, maxAge: duration, keepDays: {type: 'integer', minimum: 1, maximum: 3650}},
    },
  },
  type: 'object',
  additionalProperties: false,
  properties: {
    $schema: {type: 'string'},
    residency: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        allowedRegions: {
          type: 'array',
          items: {type: 'string', minLength: 1},
          default: ['germanywestcentral', 'germanynorth'],
        },
        allowedCountries: {type: 'array', items: {type: 'string', pattern: '^[A-Z]{2}$'}, default: ['DE']},
      },
    },
    customers: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        idPattern: {type: 'string', minLength: 1, default: '^[a-z0-9][a-z0-9-]{1,55}$'},
        known: {type: 'array', items: {type: 'string'}},
      },
    },
    /** at least one of stores and databases: checked in load.ts, which names both */
    stores: {
      type: 'array',
      default: [],
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'account', 'container'],
        properties: storeProperties,
      },
    },
    databases: {
      type: 'array',
      default: [],
      items: {
        // if/then/else rather than oneOf: Ajv fills defaults (port) only in the branch taken, and the
        // errors name the fields of the entry's own engine
        if: {type: 'object', required: ['engine'], properties: {engine: {const: 'table'}}},
        // eslint-disable-next-line unicorn/no-thenable -- JSON Schema's keyword, not a promise
        then: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'engine', 'account', 'table'],
          properties: tableDatabaseProperties,
        },
        else: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'engine', 'host', 'database', 'auth', 'user', 'isolation'],
          properties: databaseProperties,
        },
      },
    },
    backups: {
      type: 'array',
      default: [],
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'account', 'container', 'expect'],
        properties: {
          ...storeProperties,
          dateFrom: {type: 'string'},
          dateMetadata: {type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$'},
          manifest: {type: 'string'},
          encryptionScope: {type: 'string'},
          expect: {$ref: '#/$defs/backupExpectation'},
        },
      },
    },
    keys: {
      type: 'object',
      additionalProperties: false,
      required: ['vault'],
      properties: {
        vault: {type: 'string', pattern: '^https://'},
        customerKey: {type: 'string', minLength: 1},
        signingKey: {type: 'string', pattern: '^[0-9A-Za-z-]{1,127}$'},
      },
    },
    logs: {
      type: 'object',
      additionalProperties: false,
      properties: {
        archive: {
          type: 'object',
          additionalProperties: false,
          required: ['account', 'containers'],
          properties: {
            account: accountString,
            containers: {type: 'array', minItems: 1, items: {type: 'string', minLength: 3}},
          },
        },
        workspace: {type: 'string', minLength: 1},
        customerFields: {
          type: 'array',
          items: {type: 'string', minLength: 1},
          default: ['properties.customerId', 'properties.tenantId'],
        },
      },
    },
    activityLog: {
      type: 'object',
      additionalProperties: false,
      required: ['subscription'],
      properties: {subscription: {type: 'string', minLength: 1}},
    },
    exports: {
      type: 'object',
      additionalProperties: false,
      required: ['account', 'container'],
      properties: {
        account: accountString,
        container: {type: 'string', minLength: 3},
        linkExpiry: {...duration, default: '7d'},
      },
    },
    audit: {
      type: 'object',
      additionalProperties: false,
      properties: {
        account: accountString,
        container: {type: 'string', minLength: 3, default: 'custos-audit'},
        lockContainer: {type: 'string', minLength: 3, maxLength: 63},
      },
    },
    erase: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {exportWindow: {...duration, default: '30d'}},
    },
    access: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        timeZone: {type: 'string', default: 'Europe/Berlin'},
        workingHours: {
          type: 'string',
          pattern: '^[0-2][0-9]:[0-5][0-9]-[0-2][0-9]:[0-5][0-9]$',
          default: '07:00-19:00',
        },
        workingDays: {type: 'array', items: {type: 'integer', minimum: 0, maximum: 6}, default: [1, 2, 3, 4, 5]},
        /** `access review`: who may hold roles (README "Access review") */
        expected: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            principals: {type: 'array', items: {type: 'string', minLength: 1}, default: []},
            domains: {type: 'array', items: {type: 'string', minLength: 1}, default: []},
            tenants: {type: 'array', items: {type: 'string', minLength: 1}, default: []},
            privileged: {type: 'array', items: {type: 'string', minLength: 1}, default: []},
          },
        },
        staleAfter: {...duration, default: '90d'},
      },
    },
    incident: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        timeZone: {type: 'string', default: 'Europe/Berlin'},
        warnWithin: {...duration, default: '12h'},
        contact: {type: 'string', minLength: 1},
      },
    },
    azure: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        credential: {enum: ['default', 'local'], default: 'default'},
        resourceManager: {type: 'string', pattern: '^https://'},
        logAnalytics: {type: 'string', pattern: '^https://'},
        graph: {type: 'string', pattern: '^https://'},
        caCertificate: {type: 'string', minLength: 1},
        subscription: {type: 'string', minLength: 1},
        tenant: {type: 'string', minLength: 1},
        keyVaultResourceId: {
          type: 'string',
          pattern: String.raw`^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.KeyVault/vaults/[^/]+$`,
        },
      },
    },
  },
} as const
