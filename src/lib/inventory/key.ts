/** The customer's own Key Vault key in the inventory and the erase plan. */
import type {AzureClients} from '../azure/clients.js'
import {expandCustomer} from '../datamap/placeholders.js'
import {fromAzureError} from '../errors.js'

export interface KeyInventory {
  name?: string
  state: 'enabled' | 'disabled' | 'soft-deleted' | 'absent' | 'not-configured' | 'unreachable'
  version?: string
  createdOn?: string
  recoveryLevel?: string
  scheduledPurgeDate?: string
  detail?: string
}

/** The state of the customer's own key in Key Vault (crypto-shredding target). */
export async function inventoryKey(clients: AzureClients, customer: string): Promise<KeyInventory> {
  const template = clients.map.keys?.customerKey
  if (!template) return {state: 'not-configured'}
  const name = expandCustomer(template, customer)
  const client = clients.keyClient()
  try {
    const key = await client.getKey(name)
    return {
      name,
      state: key.properties.enabled === false ? 'disabled' : 'enabled',
      ...(key.properties.version ? {version: key.properties.version} : {}),
      ...(key.properties.createdOn ? {createdOn: key.properties.createdOn.toISOString()} : {}),
      ...(key.properties.recoveryLevel ? {recoveryLevel: key.properties.recoveryLevel} : {}),
    }
  } catch (error) {
    if ((error as {statusCode?: number}).statusCode !== 404) {
      return {
        name,
        state: 'unreachable',
        detail: (fromAzureError(error, `key ${name} in vault ${clients.map.keys?.vault}`) as Error).message,
      }
    }
  }

  try {
    const deleted = await client.getDeletedKey(name)
    return {
      name,
      state: 'soft-deleted',
      ...(deleted.properties.scheduledPurgeDate
        ? {scheduledPurgeDate: deleted.properties.scheduledPurgeDate.toISOString()}
        : {}),
      ...(deleted.properties.recoveryLevel ? {recoveryLevel: deleted.properties.recoveryLevel} : {}),
    }
  } catch (error) {
    if ((error as {statusCode?: number}).statusCode === 404) return {name, state: 'absent'}
    return {
      name,
      state: 'unreachable',
      detail: (fromAzureError(error, `deleted key ${name} in vault ${clients.map.keys?.vault}`) as Error).message,
    }
  }
}
