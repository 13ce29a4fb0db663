import { I2cBusError, NACK_CODES } from "../bus/bus.js";
import { I2cAddonError } from "../bus/linux.js";
import { SN3218_I2C_ADDRESS } from "../chip/registers.js";
import { deviceAccess, groupName, inContainer, listI2cBuses } from "./host.js";

/** A failure the user can fix, with the fix in the message. */
export class SetupError extends Error {
  override name = "SetupError";
}

/** How to turn I2C on, as a clause that follows "enable I2C". */
const ENABLE_I2C_STEPS =
  "add dtparam=i2c_arm=on to /boot/firmware/config.txt (Raspberry Pi OS Bookworm and later; " +
  "/boot/config.txt before) or turn it on in sudo raspi-config under Interface Options, then reboot";

function busList(): string {
  const buses = listI2cBuses();
  return buses.length === 0
    ? "No /dev/i2c-* exists here."
    : `Buses here: ${buses.map((bus) => `/dev/i2c-${bus}`).join(", ")}.`;
}

function nackMessage(code: string, path: string): string {
  return (
    `Nothing answered at 0x${SN3218_I2C_ADDRESS.toString(16)} on ${path} (${code}). Check ` +
    `that the PiGlow is seated on the GPIO header, pin 1 to pin 1, or pass the bus it is on ` +
    `with --bus N. ${busList()}`
  );
}

/**
 * Turns a bus failure into a message with the cause and the fix. Other errors pass
 * through unchanged.
 */
export function explainBusError(error: unknown, busNumber: number): unknown {
  if (error instanceof I2cAddonError) {
    return new SetupError(error.message, { cause: error });
  }
  if (!(error instanceof I2cBusError)) {
    return error;
  }
  const path = `/dev/i2c-${busNumber}`;
  const container = inContainer();
  let message: string;
  switch (error.code) {
    case "ENOENT":
      message = container
        ? `${path} does not exist in this container. If the host has it, pass it in with ` +
          `docker run --device ${path} (compose: devices:). If the host lacks it too, enable ` +
          `I2C on the host: ${ENABLE_I2C_STEPS}.`
        : `${path} does not exist, so I2C is off or the i2c-dev module is not loaded. To ` +
          `enable I2C on a Raspberry Pi, ${ENABLE_I2C_STEPS}. ${busList()}`;
      break;
    case "EPERM":
      message =
        `Opening ${path} is not permitted (EPERM). In a container this means the device was ` +
        `not passed in: run with --device ${path}, or devices: in compose.yaml; on Kubernetes ` +
        `use a device plugin or a privileged pod.`;
      break;
    case "EACCES": {
      const access = deviceAccess(path);
      const gid = access?.gid;
      const name = gid === undefined ? undefined : groupName(gid);
      const prefix = `No permission to open ${path} (EACCES).`;
      if (gid === undefined) {
        message = `${prefix} Add the user to the device's group, which ls -l ${path} shows.`;
      } else if (name === undefined) {
        message =
          `${prefix} The device belongs to group id ${gid}, which has no name here. In a ` +
          `container pass --group-add ${gid}; elsewhere run glitter as a member of that group.`;
      } else {
        message =
          `${prefix} Add the user to group ${name} (id ${gid}): sudo usermod -aG ${name} ` +
          `"$USER", then log in again. In a container pass --group-add ${gid}.`;
      }
      break;
    }
    case "EBUSY":
      message =
        `Address 0x54 on ${path} is claimed by a kernel driver (EBUSY), probably leds-sn3218 ` +
        `from a device-tree overlay. Remove that overlay or unbind the driver.`;
      break;
    case "ENXIO":
    case "ENODEV":
      if (error.operation === "open") {
        message =
          `${path} exists, but no I2C adapter driver is behind it (${error.code} on open). On a ` +
          `Raspberry Pi, enable I2C so that the adapter's module loads (i2c_bcm2835), then ` +
          `reboot. In a container, pass in the host's own ${path} with --device.`;
        break;
      }
      message = nackMessage(error.code, path);
      break;
    default:
      message = NACK_CODES.has(error.code)
        ? nackMessage(error.code, path)
        : `${error.message} Check the wiring and the bus number.`;
  }
  return new SetupError(message, { cause: error });
}
