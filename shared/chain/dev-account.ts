// anvil's first development account (mnemonic "test test ... junk", index 0). Its key is
// public knowledge: it is used only against the local chain `npm start` runs when
// CHAIN_RPC_URL is unset, and the anchorer says so in its log.
import { Secret } from '../secret.ts';

export const DEV_ANCHOR_ADDRESS = '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266';

export function devAnchorKey(): Secret {
  return new Secret('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80');
}
