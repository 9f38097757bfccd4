/** ARM response headers and the ARM error shape, shared by arm.ts and monitor.ts. */
import {sendJson, serviceHeaders, type RequestContext} from './http.js'

export class ArmError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

export function armHeaders(ctx: RequestContext): Record<string, string> {
  const stamp = new Date()
    .toISOString()
    .replaceAll(/[-:]/g, '')
    .replace(/\.\d{3}/, '')
  return {
    ...serviceHeaders(ctx),
    'x-ms-correlation-request-id': ctx.requestId,
    'x-ms-ratelimit-remaining-subscription-reads': '11999',
    'x-ms-routing-request-id': `GERMANYWESTCENTRAL:${stamp}:${ctx.requestId}`,
  }
}

export function sendArm(ctx: RequestContext, status: number, body: unknown): void {
  sendJson(ctx, status, body, armHeaders(ctx))
}

/** The ARM "not found" error for a resource of `type` named `name`. */
export function resourceNotFound(type: string, name: string, resourceGroup?: string): ArmError {
  const where = resourceGroup ? ` under resource group '${resourceGroup}'` : ''
  return new ArmError(
    404,
    'ResourceNotFound',
    `The Resource '${type}/${name}'${where} was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
  )
}
