/** The default manifest (`--manifest manifest/index.ts`): MeStore's constraint plan. */
export { mestore as default } from './mestore.js';
