/**
 * Who can access the demo environment: expected staff, and one of each thing `access review`
 * exists to find — a guest Owner, a foreign-tenant service principal, a disabled account and a
 * stale contributor still assigned, an assignment to a deleted identity, and (in the demo database)
 * a reporting role that can read customer rows.
 */
import pg from 'pg'

import {DEFAULT_RESOURCE_GROUP, LOCAL_SUBSCRIPTION_ID, LOCAL_TENANT_ID, LocalAzureState} from './azure-server/state.js'

const ROLE = {
  owner: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635',
  contributor: 'b24988ac-6180-42a0-ab88-20f7382dd24c',
  reader: 'acdd72a7-3385-48ef-bd42-f606fba81ae7',
  blobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe',
  blobDataReader: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1',
}

/** A tenant that is not the demo directory's: the vendor's. */
const DEMO_FOREIGN_TENANT = '7e5a1b2c-0000-4000-8000-76656e646f72'

/** `access.expected` of the demo data map. */
export const DEMO_ACCESS_EXPECTED = {
  principals: ['anna.admin@contoso.example', 'ben.ops@contoso.example', 'platform-admins', 'custos-job', 'postgres'],
  domains: ['contoso.example'],
  tenants: [LOCAL_TENANT_ID],
  privileged: ['anna.admin@contoso.example', 'platform-admins', 'custos-job'],
}

/** The role the demo database gets besides custos's own: it can read customer documents. */
const DEMO_UNEXPECTED_DATABASE_ROLE = 'bi_reader'

/** Seeds the local server's directory and role assignments; sign-in times are relative to `now`. */
export function seedDemoAccess(state: LocalAzureState, now: Date = new Date()): void {
  const d = state.directory
  const ago = (days: number) => new Date(now.getTime() - days * 86_400_000).toISOString()
  const subscription = `/subscriptions/${LOCAL_SUBSCRIPTION_ID}`
  const account = (name: string) =>
    LocalAzureState.storageAccountId(LOCAL_SUBSCRIPTION_ID, DEFAULT_RESOURCE_GROUP, name)
  const assign = (
    scope: string,
    role: string,
    principalId: string,
    principalType: 'User' | 'Group' | 'ServicePrincipal' = 'User',
  ) => d.addRoleAssignment({scope, roleDefinitionId: role, principalId, principalType})

  const anna = d.addUser({
    displayName: 'Anna Admin',
    userPrincipalName: 'anna.admin@contoso.example',
    lastSignInDateTime: ago(1),
  })
  const ben = d.addUser({
    displayName: 'Ben Ops',
    userPrincipalName: 'ben.ops@contoso.example',
    lastSignInDateTime: ago(3),
    lastNonInteractiveSignInDateTime: ago(0.5),
  })
  const admins = d.addGroup({displayName: 'platform-admins', members: [anna.id as string]})
  const job = d.addServicePrincipal({
    displayName: 'custos-job',
    appOwnerOrganizationId: null,
    servicePrincipalType: 'ManagedIdentity',
    alternativeNames: [
      'isExplicit=True',
      `${subscription}/resourcegroups/${DEFAULT_RESOURCE_GROUP}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/custos-job`,
    ],
  })
  const guest = d.addUser({
    displayName: 'Lena (Partner Agency)',
    userPrincipalName: 'lena_partner-agency.example#EXT#@contoso.onmicrosoft.com',
    mail: 'lena@partner-agency.example',
    userType: 'Guest',
    lastSignInDateTime: ago(6),
  })
  const vendor = d.addServicePrincipal({
    displayName: 'Vendor Backup Cloud',
    appOwnerOrganizationId: DEMO_FOREIGN_TENANT,
  })
  const former = d.addUser({
    displayName: 'Max Former',
    userPrincipalName: 'max.former@contoso.example',
    accountEnabled: false,
    lastSignInDateTime: ago(40),
  })
  const stale = d.addUser({
    displayName: 'Carl Contractor',
    userPrincipalName: 'carl.contractor@contoso.example',
    lastSignInDateTime: ago(200),
  })
  const deleted = d.addUser({displayName: 'Deleted Person', userPrincipalName: 'deleted.person@contoso.example'})
  d.deleteObject(deleted.id as string)

  assign(subscription, ROLE.owner, anna.id as string)
  assign(subscription, ROLE.reader, ben.id as string)
  assign(account('contosoprod'), ROLE.contributor, admins.id as string, 'Group')
  assign(account('contosoprod'), ROLE.blobDataContributor, job.id as string, 'ServicePrincipal')
  assign(account('contosoprod'), ROLE.owner, guest.id as string)
  assign(account('contosobackup'), ROLE.blobDataReader, vendor.id as string, 'ServicePrincipal')
  assign(account('contosoprod'), ROLE.contributor, former.id as string)
  assign(subscription, ROLE.contributor, stale.id as string)
  assign(account('contosoprod'), ROLE.blobDataReader, deleted.id as string)
}

/**
 * Gives the demo database (superuser `clientConfig` of its `app` database) a reporting role outside
 * the expected set that can read customer documents.
 */
export async function seedDemoDatabaseAccess(clientConfig: pg.ClientConfig): Promise<void> {
  const admin = new pg.Client(clientConfig)
  await admin.connect()
  try {
    await admin.query(`CREATE ROLE ${DEMO_UNEXPECTED_DATABASE_ROLE} NOLOGIN`)
    await admin.query(`GRANT SELECT ON public.documents TO ${DEMO_UNEXPECTED_DATABASE_ROLE}`)
  } finally {
    await admin.end().catch(() => {})
  }
}
