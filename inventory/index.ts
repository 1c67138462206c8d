/**
 * drover's inventory layer: the public API the CLI and the runner use. Each export lives in the file named
 * after its concern; this file only gathers them.
 */
export { loadInventory, loadInventoryFile, inventoryFromText, parseInventoryData, NO_INVENTORY } from './load.ts';
export type { Inventory, InventoryGroup } from './inventory.ts';
export { LOCALHOST_NAMES } from './inventory.ts';
export { InventoryError, HostPatternError, type Where } from './errors.ts';
export type { InventoryValue, InventoryVars } from './values.ts';
export type { VarSource } from './precedence.ts';
export { selectHosts, limitHosts, splitPattern, type SelectOptions } from './patterns.ts';
export { connectionSettings, ConnectionVariableError, CONNECTION_VARIABLES, type ConnectionSettings } from './connection.ts';
export { inventoryList, inventoryListJson, type InventoryListing } from './list.ts';
export { inventoryGraph } from './graph.ts';
export { detectFormat, type InventoryFormat } from './format.ts';
export { SECRET_VARIABLES } from './secret-variables.ts';
