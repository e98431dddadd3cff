/// <reference types="../types/tana.d.ts" />
/**
 * `GET /user-lookup?id=alice&currency=USD`, written in the older style (`Get`, `tana/net`).
 *
 * @module
 */
import { Request, Response } from "tana/net";
import { block } from "tana/block";

/** A user by id or username, with one balance. */
export async function Get(req: Request) {
  const id = req.query.id;
  if (!id) return Response.json({ error: "Missing user ID" }, 400);
  const user = await block.getUser(id);
  if (!user) return Response.json({ error: "User not found" }, 404);
  const currency = req.query.currency ?? "USD";
  const balance = await block.getBalance(user.id, currency);
  return Response.json({ user, balance: { currency, amount: balance } });
}
