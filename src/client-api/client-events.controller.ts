import { Body, Controller, HttpCode, Param, Post, UseGuards, UseInterceptors } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { UnsafeKeysInterceptor } from '../admin/unsafe-keys.interceptor.js';
import { CoreUser, CoreUserGuard } from '../auth/core-user.guard.js';
import type { GlassesInbound } from '../protocol/glasses-inbound.js';
import { SessionRegistry } from '../session/session-registry.js';
import type { UserSession } from '../session/user-session.js';
import {
  CalendarBody,
  CorrelationParams,
  DeviceStateBody,
  LocationBody,
  NotificationDismissedBody,
  PhoneNotificationBody,
  SuccessView,
} from './client-api.dto.js';
import { calendarEventMessage, checkLoose, deviceStatePatch, locationFix } from './client-input.js';
import { liveSession } from './client-session.js';

const now = (): string => new Date().toISOString();

/**
 * What the phone reports over REST instead of the glasses socket: each body becomes the socket message it
 * stands for and goes through the same session managers and relay (so apps see exactly what the socket
 * path gives them). Every route needs a live session (503 `NO_ACTIVE_SESSION` otherwise).
 */
@ApiTags('client: phone app')
@ApiBearerAuth()
@UseGuards(CoreUserGuard)
@UseInterceptors(UnsafeKeysInterceptor)
@Controller('api/client')
export class ClientEventsController {
  constructor(private readonly registry: SessionRegistry) {}

  @Post('device/state')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Glasses state from the phone (changed fields only): connected is inferred from modelName (null: disconnected); apps get capabilities_update / device_state_update',
  })
  @ApiBody({ type: DeviceStateBody })
  deviceState(
    @CoreUser() userId: string,
    @Body() body: unknown,
  ): {
    success: true;
    appliedState: {
      isGlassesConnected: boolean;
      isPhoneConnected: boolean;
      modelName: string | null;
      capabilities: unknown;
    };
    timestamp: string;
  } {
    const patch = deviceStatePatch(checkLoose(DeviceStateBody, body));
    const session = liveSession(this.registry, userId);
    session.device.applyReported(patch);
    return {
      success: true,
      appliedState: {
        isGlassesConnected: session.device.snapshot().connected,
        isPhoneConnected: session.ctx.glassesOpen,
        modelName: session.device.modelName,
        capabilities: session.device.capabilities,
      },
      timestamp: now(),
    };
  }

  @Post('location')
  @HttpCode(200)
  @ApiOperation({
    summary: "The phone's location: cached, and relayed to location_update / location_stream subscribers",
  })
  @ApiBody({ type: LocationBody })
  @ApiOkResponse({ type: SuccessView })
  location(@CoreUser() userId: string, @Body() body: unknown): SuccessView {
    const fix = locationFix(checkLoose(LocationBody, body));
    this.ingestLocation(liveSession(this.registry, userId), fix);
    return { success: true, timestamp: now() };
  }

  @Post('location/poll-response/:correlationId')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'The answer to a request_single_location: goes to the app that polled only (resolved:false when no poll of that id is pending, and it counts as an ordinary fix)',
  })
  @ApiBody({ type: LocationBody })
  pollResponse(
    @CoreUser() userId: string,
    @Param() params: CorrelationParams,
    @Body() body: unknown,
  ): { success: true; resolved: boolean; timestamp: string } {
    const fix = locationFix(checkLoose(LocationBody, body));
    const resolved = this.ingestLocation(liveSession(this.registry, userId), fix, params.correlationId);
    return { success: true, resolved, timestamp: now() };
  }

  @Post('calendar')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Calendar events (Expo Calendar events): cached (100, soonest first) and relayed as calendar_event; events without id, title or a valid start are skipped and counted',
  })
  @ApiBody({ type: CalendarBody })
  async calendar(
    @CoreUser() userId: string,
    @Body() body: unknown,
  ): Promise<{ success: true; accepted: number; ignored: number; timestamp: string }> {
    const { events } = checkLoose(CalendarBody, body);
    const session = liveSession(this.registry, userId);
    const msgs = events.map((e) => calendarEventMessage(e)).filter((m) => m !== null);
    // The calendar manager is built on first use: by the first event, not by an empty or unusable batch.
    const calendar = msgs.length === 0 ? null : (session.built('calendar') ?? (await session.use('calendar')));
    for (const msg of msgs) {
      calendar!.handleEvent(msg);
      session.relay.relay('calendar_event', JSON.stringify(msg));
    }
    return { success: true, accepted: msgs.length, ignored: events.length - msgs.length, timestamp: now() };
  }

  @Post('notifications')
  @HttpCode(200)
  @ApiOperation({ summary: 'A phone notification, relayed to phone_notification subscribers (READ_NOTIFICATIONS)' })
  @ApiOkResponse({ type: SuccessView })
  notification(@CoreUser() userId: string, @Body() body: PhoneNotificationBody): SuccessView {
    const session = liveSession(this.registry, userId);
    const msg = {
      type: 'phone_notification',
      notificationId: body.notificationId,
      app: body.app,
      title: body.title,
      content: body.content,
      priority: body.priority ?? 'normal',
      timestamp: body.timestamp ?? Date.now(),
      ...(body.packageName !== undefined ? { packageName: body.packageName } : {}),
    };
    session.relay.relay('phone_notification', JSON.stringify(msg));
    return { success: true, timestamp: now() };
  }

  @Post('notifications/dismissed')
  @HttpCode(200)
  @ApiOperation({ summary: 'A dismissed phone notification, relayed to phone_notification_dismissed subscribers' })
  @ApiOkResponse({ type: SuccessView })
  dismissed(@CoreUser() userId: string, @Body() body: NotificationDismissedBody): SuccessView {
    const session = liveSession(this.registry, userId);
    const msg = {
      type: 'phone_notification_dismissed',
      notificationId: body.notificationId,
      notificationKey: body.notificationKey,
      packageName: body.packageName,
      timestamp: Date.now(),
    };
    session.relay.relay('phone_notification_dismissed', JSON.stringify(msg));
    return { success: true, timestamp: now() };
  }

  /** As a `location_update` from the socket; true when it answered a pending poll. */
  private ingestLocation(
    session: UserSession,
    fix: { lat: number; lng: number; accuracy?: number },
    correlationId?: string,
  ): boolean {
    const msg: GlassesInbound<'location_update'> = {
      type: 'location_update',
      ...fix,
      timestamp: now(),
      ...(correlationId !== undefined ? { correlationId } : {}),
    };
    if (!session.location.handleUpdate(msg)) return true;
    session.relay.relay('location_update', JSON.stringify(msg));
    return false;
  }
}
