/**
 * What an identity (an API key or a bearer token) may do. Every route of the API and of the codec server
 * names the one scope it needs; see the README's "Identities, scopes and ownership".
 */
export const SCOPES = ['sagas:start', 'sagas:read', 'sagas:cancel', 'sagas:operate', 'codec:decode'] as const;
export type Scope = (typeof SCOPES)[number];

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}
