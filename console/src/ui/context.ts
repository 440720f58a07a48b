import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Api } from '../api.js';
import type { Principal } from '../logic/principal.js';

export interface ConsoleContext {
  readonly api: Api;
  readonly principal: Principal;
  navigate: (path: string) => void;
}

export const Context = createContext<ConsoleContext | undefined>(undefined);

export function useConsole(): ConsoleContext {
  const value = useContext(Context);
  if (value === undefined) throw new Error('useConsole outside the signed-in console');
  return value;
}
